namespace OrleansServe.Grains.Scheduling;

/// <summary>The scheduler's persisted state: the imported profile table, as the CSV the scheduler exports.</summary>
[GenerateSerializer, Alias("orleansserve.ImportedProfiles")]
public sealed class ImportedProfiles
{
    /// <summary>CSV rows <c>model,partition,batch,latency_ms,device,source</c>; empty when nothing was imported.</summary>
    [Id(0)]
    public string Csv { get; set; } = "";
}
