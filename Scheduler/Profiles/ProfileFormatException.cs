namespace OrleansServe.Scheduler.Profiles;

/// <summary>A refused line of a profile or features file.</summary>
/// <param name="Line">1-based line number (the header is line 1).</param>
public sealed record ProfileLineError(int Line, string Message)
{
    public override string ToString() => $"line {Line}: {Message}";
}

/// <summary>A profile or features file with invalid lines; every refused line is listed, not only the first.</summary>
public sealed class ProfileFormatException(IReadOnlyList<ProfileLineError> errors)
    : FormatException($"{errors.Count} invalid line(s):{Environment.NewLine}{string.Join(Environment.NewLine, errors)}")
{
    public IReadOnlyList<ProfileLineError> Errors { get; } = errors;
}

/// <summary>A latency was asked for a model the profile table has no rows for.</summary>
public sealed class UnknownModelException(string model, IEnumerable<string> known, string device = "")
    : KeyNotFoundException(
        $"no profile for model '{model}'{(device.Length > 0 ? $" on device '{device}'" : "")} (known: {string.Join(", ", known)})")
{
    public string Model { get; } = model;

    /// <summary>The device type asked for; empty when none was named.</summary>
    public string Device { get; } = device;
}
