namespace OrleansServe.Scheduler.Planning;

/// <summary>Knobs shared by the planners; the defaults follow gpulet's published rules.</summary>
public sealed record PlannerOptions
{
    /// <summary>Profiled latencies are multiplied by this margin before any rule sees them (gpulet: 1.1).</summary>
    public double LatencyMargin { get; init; } = 1.1;

    /// <summary>Milliseconds added to every batch for assembling it (gpulet measures this per server).</summary>
    public double BatchingOverheadMs { get; init; }

    /// <summary>Device bytes each occupied gpulet needs beyond its models (gpulet: 1230 MB of framework context per gpulet).</summary>
    public long GpuletContextBytes { get; init; }

    /// <summary>Largest batch size the rules consider.</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>Relative throughput gains between adjacent partitions below this are ignored when finding the knee.</summary>
    public double KneeMinGain { get; init; } = 0.05;

    /// <summary>With interference, a placement is kept only if every model still gets this share of its rate (gpulet: 0.85).</summary>
    public double MinServedFraction { get; init; } = 0.85;

    /// <summary>orleansserve: a model that would keep its residue gpulet busy less than this share of the time is swap-served.</summary>
    public double SwapUtilisationThreshold { get; init; } = 0.10;

    /// <summary>orleansserve: a model below this rate is swap-served whatever its utilisation.</summary>
    public double SwapRateFloorRps { get; init; } = 1.0;

    /// <summary>The defaults.</summary>
    public static PlannerOptions Default { get; } = new();
}

/// <summary>Checks the planners share on their input.</summary>
internal static class Demands
{
    /// <summary>A plan maps each model to one demand, so a name may appear once.</summary>
    public static void EnsureDistinct(IReadOnlyList<ModelDemand> demands)
    {
        var duplicate = demands.GroupBy(d => d.Model.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Model {duplicate.Key} has more than one demand.", nameof(demands));
        }
    }
}
