namespace OrleansServe.Scheduler.Planning;

/// <summary>How a re-plan was done.</summary>
public enum ReplanKind
{
    /// <summary>Existing gpulets kept; only the changed models placed.</summary>
    Incremental,

    /// <summary>Everything planned afresh.</summary>
    Full,
}

/// <summary>A re-plan's plan, how it was made, and the models that were placed again.</summary>
public sealed record ReplanResult(SchedulePlan Plan, ReplanKind Kind, IReadOnlyList<string> ChangedModels);

/// <summary>
/// gpulet's spatio-temporal planner: models by rate × SLO, saturated gpulets at each model's ideal (knee) partition,
/// a residue gpulet at the smallest partition meeting the SLO, best fit onto free gpulets (a whole GPU splits into
/// p / 100 − p), temporal sharing when no free gpulet fits, and the interference check with one retry.
/// </summary>
public sealed class GpuletPlanner(PlannerOptions? options = null) : IPlanner
{
    private readonly PlannerOptions options = options ?? PlannerOptions.Default;

    /// <inheritdoc />
    public string Name => "gpulet";

    /// <inheritdoc />
    public SchedulePlan Plan(IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference)
    {
        Demands.EnsureDistinct(demands);
        var engine = new GpuletEngine(cluster, latency, interference, options);
        var unscheduled = PlaceAll(engine, demands);
        return engine.ToPlan(Name, [], unscheduled);
    }

    /// <summary>
    /// Re-plans for new demands keeping the previous plan's gpulets for every model whose rate they still cover, and
    /// placing only new, grown or previously unscheduled models; falls back to a full plan when that fails.
    /// </summary>
    public ReplanResult Replan(
        SchedulePlan previous, IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference)
    {
        Demands.EnsureDistinct(demands);
        var byName = demands.ToDictionary(d => d.Model.Name);
        var covered = previous.Gpus.SelectMany(g => g.Gpulets).SelectMany(g => g.Models)
            .GroupBy(a => a.Model).ToDictionary(g => g.Key, g => g.Sum(a => a.RateRps));
        var changed = demands
            .Where(d => d.RateRps > 0 && (!covered.TryGetValue(d.Model.Name, out var c) || c < d.RateRps * (1 - 1e-9)))
            .Select(d => d.Model.Name)
            .Order(StringComparer.Ordinal)
            .ToList();

        var engine = new GpuletEngine(cluster, latency, interference, options);
        var rules = engine.Rules;
        var loaded = previous.SwapServed.Count == 0;
        foreach (var gpu in previous.Gpus)
        {
            var slots = gpu.Gpulets.Select(g => new GpuletSlot(
                g.Partition,
                [.. g.Models.Where(a => byName.ContainsKey(a.Model) && !changed.Contains(a.Model)).Select(a => new Member(
                    byName[a.Model].Model,
                    g.Models.Count == 1 && Math.Abs(a.DutyCycleMs - a.LatencyMs) < 1e-9 ? MemberKind.Saturated : MemberKind.Residue,
                    a.Batch,
                    rules.LatencyMs(a.Model, g.Partition, a.Batch),
                    a.RateRps))])).ToList();
            loaded &= engine.Load(gpu.Gpu, slots);
        }

        if (loaded && engine.AllHold())
        {
            var unscheduled = PlaceAll(engine, [.. demands.Where(d => changed.Contains(d.Model.Name))]);
            if (unscheduled.Count == 0)
            {
                return new ReplanResult(engine.ToPlan(Name, [], unscheduled), ReplanKind.Incremental, changed);
            }
        }

        return new ReplanResult(Plan(demands, cluster, latency, interference), ReplanKind.Full, changed);
    }

    /// <summary>gpulet's order: largest rate × SLO first; names break ties so the plan is deterministic.</summary>
    internal static IEnumerable<ModelDemand> Ordered(IEnumerable<ModelDemand> demands) =>
        demands.OrderByDescending(d => d.RateRps * d.Model.SloMs).ThenBy(d => d.Model.Name, StringComparer.Ordinal);

    internal static Dictionary<string, string> PlaceAll(GpuletEngine engine, IReadOnlyList<ModelDemand> demands)
    {
        var unscheduled = new Dictionary<string, string>();
        foreach (var demand in Ordered(demands))
        {
            if (engine.Place(demand.Model, demand.RateRps) is string reason)
            {
                unscheduled[demand.Model.Name] = reason;
            }
        }

        return unscheduled;
    }
}

/// <summary>
/// Nexus-style squishy bin packing, the temporal-only baseline: whole GPUs (partition 100), saturated GPUs at the
/// half-SLO batch, residues packed onto GPUs in use by time sharing before a new GPU is opened.
/// </summary>
public sealed class TemporalPlanner(PlannerOptions? options = null) : IPlanner
{
    private readonly PlannerOptions options = options ?? PlannerOptions.Default;

    /// <inheritdoc />
    public string Name => "temporal";

    /// <inheritdoc />
    public SchedulePlan Plan(IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference)
    {
        Demands.EnsureDistinct(demands);
        // One gpulet per GPU has no neighbour, so interference never applies.
        var whole = cluster with { Partitions = [100], MaxGpuletsPerGpu = 1 };
        var engine = new GpuletEngine(whole, latency, NoInterference.Instance, options);
        var unscheduled = GpuletPlanner.PlaceAll(engine, demands);
        return engine.ToPlan(Name, [], unscheduled);
    }
}
