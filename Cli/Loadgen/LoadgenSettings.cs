namespace OrleansServe.Cli.Loadgen;

/// <summary>One loadgen invocation's settings, as the command line gave them.</summary>
public sealed record LoadgenSettings(
    Uri Url,
    string Model,
    int Batch,
    IReadOnlyList<int> Concurrency,
    double? RateRps,
    int MaxOutstanding,
    TimeSpan Duration,
    TimeSpan Warmup,
    long MaxRequests,
    FileInfo? JsonPath,
    FileInfo? DirectModel,
    int IntraOpThreads,
    bool Binary,
    int Seed);

/// <summary>Parses "1,8,32".</summary>
public static class ConcurrencyList
{
    /// <summary>Positive integers separated by commas; null with an error message otherwise.</summary>
    public static int[]? Parse(string text, out string? error)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out values[i]) || values[i] < 1)
            {
                error = $"--concurrency takes positive integers separated by commas, like 1,8,32; '{parts[i]}' is not one";
                return null;
            }
        }
        error = null;
        return values;
    }
}
