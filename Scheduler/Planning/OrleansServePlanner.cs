namespace OrleansServe.Scheduler.Planning;

/// <summary>
/// OrleansServe's policy: gpulet planning for models whose rate earns a gpulet, and every other model swapped into a
/// gpulet with spare time and memory (Torpor's late binding), so rare models cost no SM share of their own.
/// Swap-served models appear in <see cref="SchedulePlan.SwapServed"/> and as batch-1 assignments in their host gpulet.
/// </summary>
public sealed class OrleansServePlanner(PlannerOptions? options = null) : IPlanner
{
    private readonly PlannerOptions options = options ?? PlannerOptions.Default;

    /// <inheritdoc />
    public string Name => "orleansserve";

    /// <inheritdoc />
    public SchedulePlan Plan(IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference)
    {
        Demands.EnsureDistinct(demands);
        var engine = new GpuletEngine(cluster, latency, interference, options);
        var earners = demands.Where(d => d.RateRps > 0 && EarnsGpulet(engine.Rules, d, cluster.Partitions)).ToList();
        var unscheduled = GpuletPlanner.PlaceAll(engine, earners);

        var swapServed = new List<string>();
        var rare = demands.Where(d => d.RateRps > 0 && !earners.Contains(d))
            .OrderByDescending(d => d.RateRps).ThenBy(d => d.Model.Name, StringComparer.Ordinal);
        foreach (var demand in rare)
        {
            if (engine.HostSwapped(demand.Model, demand.RateRps, cluster.PcieBytesPerSecond) is null)
            {
                swapServed.Add(demand.Model.Name);
            }
            else if (engine.Place(demand.Model, demand.RateRps) is string reason)
            {
                // Swap-in does not fit its SLO anywhere: the model keeps a gpulet of its own, or is reported.
                unscheduled[demand.Model.Name] = reason;
            }
        }

        swapServed.Sort(StringComparer.Ordinal);
        return engine.ToPlan(Name, swapServed, unscheduled);
    }

    /// <summary>
    /// A model earns a gpulet when its rate is at least <see cref="PlannerOptions.SwapRateFloorRps"/> and either fills
    /// a saturated gpulet or keeps its residue gpulet busy at least <see cref="PlannerOptions.SwapUtilisationThreshold"/>
    /// of the time (rate × L(b,p) / b at the smallest partition meeting its SLO). The busy share, not L / duty cycle,
    /// because a rare model's duty cycle is bounded by its SLO, not by its rate.
    /// </summary>
    public bool EarnsGpulet(BatchRules rules, ModelDemand demand, IReadOnlyList<int> partitions)
    {
        if (demand.RateRps < options.SwapRateFloorRps)
        {
            return false;
        }

        if (rules.IdealPartition(demand.Model, partitions) is int ideal
            && rules.Saturated(demand.Model, ideal) is BatchChoice s
            && demand.RateRps >= s.ThroughputRps)
        {
            return true;
        }

        return rules.SmallestResiduePartition(demand.Model, partitions, demand.RateRps) is not int p
            || rules.Residue(demand.Model, p, demand.RateRps) is not BatchChoice r
            || demand.RateRps * r.LatencyMs / r.Batch / 1000.0 >= options.SwapUtilisationThreshold;
    }
}
