namespace OrleansServe.Scheduler.Planning;

/// <summary>
/// Torpor-like swapping: no gpulets, each GPU runs one batch at a time at full SM share and keeps in memory the models
/// it serves most often; the rest are swapped in over PCIe per batch. A GPU takes a model while its busy share
/// Σ rate/b × (L(b,100) + swap-in for non-resident models) stays ≤ 1; GPUs are filled first fit, in index order.
/// </summary>
public sealed class SwapPlanner(PlannerOptions? options = null) : IPlanner
{
    private readonly PlannerOptions options = options ?? PlannerOptions.Default;

    /// <inheritdoc />
    public string Name => "swap";

    /// <inheritdoc />
    public SchedulePlan Plan(IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference)
    {
        Demands.EnsureDistinct(demands);
        var rules = new BatchRules(latency, options);
        var gpus = Enumerable.Range(0, cluster.MaxGpus).Select(_ => new List<(ModelSpec Model, double Rate, bool Pinned)>()).ToList();
        var unscheduled = new Dictionary<string, string>();
        var hottestFirst = demands.Where(d => d.RateRps > 0)
            .OrderByDescending(d => d.RateRps).ThenBy(d => d.Model.Name, StringComparer.Ordinal);
        foreach (var demand in hottestFirst)
        {
            if (Choose(rules, demand.Model, demand.RateRps, 0) is null)
            {
                unscheduled[demand.Model.Name] = rules.InfeasibleReason(demand.Model);
                continue;
            }

            var placed = false;
            foreach (var gpu in gpus)
            {
                gpu.Add((demand.Model, demand.RateRps, false));
                if (Layout(rules, cluster, gpu) is not null)
                {
                    placed = true;
                    break;
                }

                gpu.RemoveAt(gpu.Count - 1);
            }

            if (!placed && !Spread(rules, cluster, gpus, demand))
            {
                unscheduled[demand.Model.Name] = $"no GPU has time or memory left for {demand.Model.Name} at {demand.RateRps:0.##} rps";
            }
        }

        var plans = new List<GpuPlan>();
        var swapServed = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < gpus.Count; i++)
        {
            if (gpus[i].Count == 0)
            {
                continue;
            }

            var layout = Layout(rules, cluster, gpus[i])!.Value;
            swapServed.UnionWith(layout.Swapped);
            plans.Add(new GpuPlan(i, [new Gpulet(100, layout.Assignments)]));
        }

        return new SchedulePlan(Name, plans, [.. swapServed], unscheduled);
    }

    /// <summary>A hot model no single GPU can take is split across the spare time of the GPUs, resident on each.</summary>
    private static bool Spread(BatchRules rules, ClusterSpec cluster, List<List<(ModelSpec Model, double Rate, bool Pinned)>> gpus, ModelDemand demand)
    {
        var snapshot = gpus.Select(g => g.ToList()).ToList();
        var remaining = demand.RateRps;
        foreach (var gpu in gpus)
        {
            if (remaining <= 1e-9)
            {
                break;
            }

            // Largest share this GPU still holds, by halving: the busy share is monotone in the rate.
            double lo = 0, hi = remaining;
            for (var k = 0; k < 40; k++)
            {
                var mid = (lo + hi) / 2;
                gpu.Add((demand.Model, mid, true));
                var ok = Layout(rules, cluster, gpu) is { } l && !l.Swapped.Contains(demand.Model.Name);
                gpu.RemoveAt(gpu.Count - 1);
                (lo, hi) = ok ? (mid, hi) : (lo, mid);
            }

            if (lo > 1e-6)
            {
                var share = lo >= remaining * (1 - 1e-9) ? remaining : lo;
                gpu.Add((demand.Model, share, true));
                remaining -= share;
            }
        }

        if (remaining > 1e-9)
        {
            for (var i = 0; i < gpus.Count; i++)
            {
                gpus[i] = snapshot[i];
            }

            return false;
        }

        return true;
    }

    /// <summary>Residency by rate: the hottest models that fit, leaving room to swap in the largest of the others.</summary>
    private static (IReadOnlyList<GpuletAssignment> Assignments, IReadOnlySet<string> Swapped)? Layout(
        BatchRules rules, ClusterSpec cluster, List<(ModelSpec Model, double Rate, bool Pinned)> models)
    {
        // A model spread over several GPUs stays resident on each, so it is never swap-served on one and not another.
        var byHeat = models.OrderByDescending(m => m.Pinned).ThenByDescending(m => m.Rate).ThenBy(m => m.Model.Name, StringComparer.Ordinal).ToList();
        var resident = new List<(ModelSpec Model, bool Pinned)>();
        long used = 0;
        foreach (var (model, _, pinned) in byHeat)
        {
            if (used + model.MemoryBytes <= cluster.GpuMemoryBytes)
            {
                resident.Add((model, pinned));
                used += model.MemoryBytes;
            }
            else if (pinned)
            {
                return null;
            }
        }

        // Demote the coldest residents until the largest swapped model has room to come in.
        while (true)
        {
            var swapRoom = byHeat.Where(m => resident.All(r => r.Model.Name != m.Model.Name)).Select(m => m.Model.MemoryBytes).DefaultIfEmpty(0).Max();
            if (used + swapRoom <= cluster.GpuMemoryBytes)
            {
                break;
            }

            if (resident.Count == 0 || resident[^1].Pinned)
            {
                return null;
            }

            used -= resident[^1].Model.MemoryBytes;
            resident.RemoveAt(resident.Count - 1);
        }

        var assignments = new List<GpuletAssignment>();
        var swapped = new HashSet<string>();
        var busy = 0.0;
        foreach (var (model, rate, _) in models)
        {
            var isResident = resident.Any(r => r.Model.Name == model.Name);
            var swapMs = isResident ? 0 : model.WeightBytes / cluster.PcieBytesPerSecond * 1000.0;
            if (Choose(rules, model, rate, swapMs) is not BatchChoice c)
            {
                return null;
            }

            busy += rate / c.Batch * c.LatencyMs / 1000.0;
            assignments.Add(new GpuletAssignment(model.Name, c.Batch, c.DutyCycleMs, c.LatencyMs, rate));
            if (!isResident)
            {
                swapped.Add(model.Name);
            }
        }

        return busy <= 1 + 1e-9 ? (assignments, swapped) : null;
    }

    /// <summary>
    /// The batch the SLO allows when serving on demand: largest b with L(b,100) + swap-in + (b − 1)·1000/rate ≤ SLO
    /// (the first request waits for the rest of its batch). Duty cycle is the time between batches, b·1000/rate.
    /// </summary>
    internal static BatchChoice? Choose(BatchRules rules, ModelSpec model, double rate, double swapMs)
    {
        for (var b = rules.Options.MaxBatch; b >= 1; b--)
        {
            var l = rules.LatencyMs(model.Name, 100, b) + swapMs;
            if (l + ((b - 1) * 1000.0 / rate) <= model.SloMs)
            {
                return new BatchChoice(b, l, b * 1000.0 / rate, rate);
            }
        }

        return null;
    }
}
