namespace OrleansServe.Grains.Scheduling;

/// <summary>The scheduler's persisted interference coefficients (none until imported).</summary>
[GenerateSerializer, Alias("orleansserve.ImportedInterference")]
public sealed class ImportedInterference
{
    /// <summary>The imported coefficients, or null: the scheduler then plans without interference.</summary>
    [Id(0)]
    public InterferenceSettings? Settings { get; set; }
}
