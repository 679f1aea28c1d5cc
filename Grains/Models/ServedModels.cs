namespace OrleansServe.Grains.Models;

/// <summary>The repository grain's persisted state: the models meant to be served, loaded again after a restart.</summary>
[GenerateSerializer, Alias("orleansserve.ServedModels")]
public sealed class ServedModels
{
    /// <summary>Names of the models loaded and not since unloaded, in ordinal order.</summary>
    [Id(0)]
    public List<string> Names { get; set; } = [];

    /// <summary>config.json overrides given at load, by model name (served models only).</summary>
    [Id(1)]
    public Dictionary<string, string> Configs { get; set; } = [];
}
