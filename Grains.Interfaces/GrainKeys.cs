namespace OrleansServe.Grains;

/// <summary>The keys of the cluster's singleton grains, so clients call them without knowing the implementation.</summary>
public static class GrainKeys
{
    /// <summary>The one <see cref="ISchedulerGrain"/>.</summary>
    public const string Scheduler = "default";

    /// <summary>The one <see cref="IRepositoryGrain"/>.</summary>
    public const string Repository = "default";
}

/// <summary>What names a model and its versions may have, and how large a configuration a load may carry.</summary>
public static class ModelNames
{
    /// <summary>The largest config.json a model folder or a load request may carry.</summary>
    public const int MaxConfigBytes = 1 << 20;

    /// <summary>
    /// Whether a name can be a model name: letters, digits, '_', '-' and '.', not starting with '.', at most 128 characters.
    /// This is what keeps a request from naming a path outside the repository.
    /// </summary>
    public static bool IsValid(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 128 && name[0] != '.'
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');

    /// <summary>Whether a version string is a positive integer without leading zeros or signs.</summary>
    public static bool IsValidVersion(string? version) =>
        !string.IsNullOrEmpty(version) && version.Length <= 18 && version[0] != '0' && version.All(char.IsAsciiDigit);
}
