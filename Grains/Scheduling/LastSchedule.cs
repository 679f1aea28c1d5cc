namespace OrleansServe.Grains.Scheduling;

/// <summary>The scheduler's persisted last schedule, published again after a restart until the next re-plan.</summary>
[GenerateSerializer, Alias("orleansserve.LastSchedule")]
public sealed class LastSchedule
{
    /// <summary>The schedule's version; re-plans after a restart continue from it.</summary>
    [Id(0)]
    public long Version { get; set; }

    /// <summary>The schedule as <c>GET /v2/admin/schedule</c> returns it; empty before the first re-plan.</summary>
    [Id(1)]
    public string Json { get; set; } = "";
}
