namespace OrleansServe.Scheduler.Planning;

/// <summary>
/// The mutable working state of gpulet planning: GPUs, their gpulets and members, and the placement steps (elastic
/// partitioning, best fit, temporal sharing, swap hosting). One engine per planning call; the planners are pure.
/// </summary>
internal sealed class GpuletEngine
{
    private readonly ClusterSpec cluster;
    private readonly BatchRules rules;
    private readonly GpuEvaluator evaluator;
    private readonly List<int> partitions;
    private GpuSlot[] gpus;

    public GpuletEngine(ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference, PlannerOptions options)
    {
        this.cluster = cluster;
        rules = new BatchRules(latency, options);
        evaluator = new GpuEvaluator(cluster, interference, options);
        partitions = [.. cluster.Partitions.Distinct().Order()];
        gpus = [.. Enumerable.Range(0, cluster.MaxGpus).Select(i => new GpuSlot(i, []))];
    }

    public BatchRules Rules => rules;

    /// <summary>Places the whole rate of a model or nothing; returns the reason on failure.</summary>
    public string? Place(ModelSpec model, double rateRps)
    {
        if (rateRps <= 0)
        {
            return null;
        }

        var ideal = rules.IdealPartition(model, partitions);
        if (ideal is null && rules.SmallestResiduePartition(model, partitions, rateRps) is null)
        {
            return rules.InfeasibleReason(model);
        }

        var snapshot = Snapshot();
        var remaining = rateRps;
        var interferenceRejections = 0;
        while (remaining > 1e-9)
        {
            var saturated = ideal is int p ? rules.Saturated(model, p) : null;
            string? reason;
            double covered;
            // A remainder no residue gpulet can carry (its batch cannot keep up within the SLO) gets a saturated gpulet,
            // over-provisioned, rather than failing the model: gpulet's rule assumes a residue always exists.
            if (saturated is BatchChoice s && (remaining >= s.ThroughputRps * (1 - 1e-9) || rules.SmallestResiduePartition(model, partitions, remaining) is null))
            {
                (covered, reason) = PlaceSaturated(model, ideal!.Value, remaining, ref interferenceRejections);
            }
            else
            {
                (covered, reason) = PlaceResidue(model, remaining, ref interferenceRejections);
            }

            if (reason is not null)
            {
                gpus = snapshot;
                return reason;
            }

            remaining -= covered;
        }

        return null;
    }

    private (double Covered, string? Reason) PlaceSaturated(ModelSpec model, int size, double remaining, ref int rejections)
    {
        string? interferenceReason = null;
        // Best fit onto free gpulets of at least the ideal size, then a fresh GPU, then smaller free gpulets.
        var candidates = FreeSlots(s => s >= size).Concat(NewGpu(size)).Concat(FreeSlots(s => s < size).Reverse());
        foreach (var (gpu, slotIndex, partition) in candidates)
        {
            if (rules.Saturated(model, partition) is not BatchChoice c)
            {
                continue;
            }

            var covered = Math.Min(remaining, c.ThroughputRps);
            var member = new Member(model, MemberKind.Saturated, c.Batch, c.LatencyMs, covered);
            var outcome = TryCommit(gpu, slotIndex, partition, member, out var trial);
            if (outcome.Ok)
            {
                gpus[gpu] = trial;
                return (covered, null);
            }

            if (outcome.ByInterference)
            {
                // Interference rules this gpulet out; another candidate (an empty GPU has no neighbour) may still do.
                rejections++;
                interferenceReason = outcome.Reason;
            }
        }

        // No gpulet of its own: the rest of the rate may still share a gpulet in time, if a residue can carry it.
        if (rules.SmallestResiduePartition(model, partitions, remaining) is null)
        {
            return (0, interferenceReason ?? $"no free gpulet or GPU left for {model.Name} at {remaining:0.##} rps");
        }
        var residue = PlaceResidue(model, remaining, ref rejections);
        return residue.Reason is not null && interferenceReason is not null && residue.Covered == 0 ? (0, interferenceReason) : residue;
    }

    private (double Covered, string? Reason) PlaceResidue(ModelSpec model, double remaining, ref int rejections)
    {
        if (rules.SmallestResiduePartition(model, partitions, remaining) is not int size)
        {
            return (0, $"no partition meets the SLO of {model.Name} at {remaining:0.##} rps");
        }

        // Free gpulets on GPUs in use first, then time sharing, and only then a fresh GPU: as few GPUs as possible.
        var onOpenGpus = ResidueOn(model, remaining, FreeSlots(s => s >= size), ref rejections);
        if (onOpenGpus.Done)
        {
            return (onOpenGpus.Covered, onOpenGpus.Reason);
        }

        var (shared, shareReason) = JoinBestFit(model, remaining, ref rejections);
        if (shared || shareReason is not null)
        {
            return (shared ? remaining : 0, shareReason);
        }

        var onNewGpu = ResidueOn(model, remaining, NewGpu(size), ref rejections);
        return onNewGpu.Done
            ? (onNewGpu.Covered, onNewGpu.Reason)
            : (0, onNewGpu.Reason ?? onOpenGpus.Reason ?? $"no free gpulet, time share or GPU fits {model.Name} at {remaining:0.##} rps");
    }

    /// <summary>The first candidate gpulet a residue fits; when none does, the last interference refusal as the reason.</summary>
    private (bool Done, double Covered, string? Reason) ResidueOn(
        ModelSpec model, double rate, IEnumerable<(int Gpu, int Slot, int Partition)> candidates, ref int rejections)
    {
        string? interferenceReason = null;
        foreach (var (gpu, slotIndex, partition) in candidates)
        {
            if (rules.Residue(model, partition, rate) is not BatchChoice c)
            {
                continue;
            }

            var member = new Member(model, MemberKind.Residue, c.Batch, c.LatencyMs, rate);
            var outcome = TryCommit(gpu, slotIndex, partition, member, out var trial);
            if (outcome.Ok)
            {
                gpus[gpu] = trial;
                return (true, rate, null);
            }

            if (outcome.ByInterference)
            {
                rejections++;
                interferenceReason = outcome.Reason;
            }
        }

        return (false, 0, interferenceReason);
    }

    /// <summary>Temporal sharing: the occupied gpulet left busiest (best fit) after taking the model, at the largest batch that fits.</summary>
    private (bool Shared, string? Reason) JoinBestFit(ModelSpec model, double rate, ref int rejections)
    {
        (GpuSlot Trial, double Utilisation)? best = null;
        foreach (var gpu in gpus.Where(g => g.IsOpen))
        {
            for (var i = 0; i < gpu.Gpulets.Count; i++)
            {
                var slot = gpu.Gpulets[i];
                if (slot.IsFree || slot.Members.Any(m => m.Kind == MemberKind.Saturated || m.Model.Name == model.Name))
                {
                    continue;
                }

                if (rules.Residue(model, slot.Partition, rate) is not BatchChoice c)
                {
                    continue;
                }

                for (var b = c.Batch; b >= 1; b--)
                {
                    var member = new Member(model, MemberKind.Residue, b, rules.LatencyMs(model.Name, slot.Partition, b), rate);
                    var outcome = TryCommit(gpu.Index, i, slot.Partition, member, out var trial);
                    if (outcome.Ok)
                    {
                        var utilisation = outcome.Utilisation[i];
                        if (best is null || utilisation > best.Value.Utilisation + 1e-12)
                        {
                            best = (trial, utilisation);
                        }

                        break;
                    }

                    if (outcome.ByInterference && ++rejections >= 2)
                    {
                        return (false, outcome.Reason);
                    }
                }
            }
        }

        if (best is { } chosen)
        {
            gpus[chosen.Trial.Index] = chosen.Trial;
            return (true, null);
        }

        return (false, null);
    }

    /// <summary>
    /// orleansserve: binds a rare model into the gpulet with room for it, swap-in counted against its SLO. Torpor's
    /// order: a GPU already holding the model, else the least-loaded PCIe link, else any; then the most slack.
    /// If no gpulet can host it, a fresh gpulet is opened for swapping.
    /// </summary>
    public string? HostSwapped(ModelSpec model, double rate, double pcieBytesPerSecond)
    {
        if (rate <= 0)
        {
            return null;
        }

        (GpuSlot Trial, int Slot, bool Holds, double Pcie, double Slack)? best = null;
        foreach (var gpu in gpus.Where(g => g.IsOpen))
        {
            var holds = gpu.Holds(model.Name);
            var swapMs = holds ? 0 : model.WeightBytes / pcieBytesPerSecond * 1000.0;
            for (var i = 0; i < gpu.Gpulets.Count; i++)
            {
                var slot = gpu.Gpulets[i];
                if (slot.IsFree || slot.Members.Any(m => m.Kind == MemberKind.Saturated || m.Model.Name == model.Name))
                {
                    continue;
                }

                var member = new Member(model, MemberKind.Swap, 1, rules.LatencyMs(model.Name, slot.Partition, 1), rate, swapMs);
                var outcome = TryCommit(gpu.Index, i, slot.Partition, member, out var trial);
                if (!outcome.Ok)
                {
                    continue;
                }

                var candidate = (trial, i, holds, gpu.PcieLoad, 1 - outcome.Utilisation[i]);
                if (best is null || Better(candidate, best.Value))
                {
                    best = candidate;
                }
            }
        }

        if (best is { } chosen)
        {
            gpus[chosen.Trial.Index] = chosen.Trial;
            return null;
        }

        var swapIn = model.WeightBytes / pcieBytesPerSecond * 1000.0;
        var candidates = FreeSlots(_ => true).Where(c => gpus[c.Gpu].IsOpen).OrderBy(c => c.Partition)
            .Concat(partitions.SelectMany(NewGpu));
        foreach (var (gpu, slotIndex, partition) in candidates)
        {
            var member = new Member(model, MemberKind.Swap, 1, rules.LatencyMs(model.Name, partition, 1), rate, swapIn);
            if (TryCommit(gpu, slotIndex, partition, member, out var trial).Ok)
            {
                gpus[gpu] = trial;
                return null;
            }
        }

        return $"no gpulet can swap in {model.Name} within its SLO";

        static bool Better((GpuSlot, int, bool Holds, double Pcie, double Slack) a, (GpuSlot, int, bool Holds, double Pcie, double Slack) b)
        {
            if (a.Holds != b.Holds)
            {
                return a.Holds;
            }

            if (Math.Abs(a.Pcie - b.Pcie) > 1e-6)
            {
                return a.Pcie < b.Pcie;
            }

            return a.Slack > b.Slack + 1e-12;
        }
    }

    /// <summary>Adds a member to a slot (splitting a whole free GPU when needed) on a copy of the GPU and evaluates it.</summary>
    private GpuEvaluator.Outcome TryCommit(int gpuIndex, int slotIndex, int partition, Member member, out GpuSlot trial)
    {
        trial = gpus[gpuIndex].Clone();
        if (slotIndex < 0)
        {
            trial.Gpulets.Clear();
            trial.Gpulets.Add(new GpuletSlot(partition, [member]));
            var leftover = partitions.Where(p => p <= 100 - partition).DefaultIfEmpty(0).Max();
            if (leftover > 0 && cluster.MaxGpuletsPerGpu >= 2)
            {
                trial.Gpulets.Add(new GpuletSlot(leftover, []));
            }
        }
        else
        {
            trial.Gpulets[slotIndex].Members.Add(member);
        }

        return evaluator.Evaluate(trial);
    }

    /// <summary>Free gpulets on open GPUs matching the size filter, smallest first (best fit), then by GPU.</summary>
    private IEnumerable<(int Gpu, int Slot, int Partition)> FreeSlots(Func<int, bool> size) =>
        gpus.Where(g => g.IsOpen)
            .SelectMany(g => g.Gpulets.Select((s, i) => (Gpu: g.Index, Slot: i, s.Partition, s.IsFree)))
            .Where(x => x.IsFree && size(x.Partition))
            .OrderBy(x => x.Partition).ThenBy(x => x.Gpu).ThenBy(x => x.Slot)
            .Select(x => (x.Gpu, x.Slot, x.Partition))
            .ToList();

    /// <summary>The first unused GPU, split at the requested size (or whole when it may hold one gpulet only).</summary>
    private IEnumerable<(int Gpu, int Slot, int Partition)> NewGpu(int size)
    {
        var free = gpus.FirstOrDefault(g => !g.IsOpen);
        if (free is null)
        {
            return [];
        }

        return [(free.Index, -1, cluster.MaxGpuletsPerGpu >= 2 ? size : 100)];
    }

    /// <summary>Copies the GPU state, for rolling back a model that cannot be placed whole.</summary>
    private GpuSlot[] Snapshot() => [.. gpus.Select(g => g.Clone())];

    /// <summary>Loads an existing GPU layout (for incremental re-planning); returns false if it does not fit this cluster.</summary>
    public bool Load(int gpu, List<GpuletSlot> gpulets)
    {
        if (gpu < 0 || gpu >= gpus.Length)
        {
            return false;
        }

        gpus[gpu] = new GpuSlot(gpu, gpulets);
        gpus[gpu].Normalise();
        return true;
    }

    /// <summary>Whether every loaded GPU still evaluates clean.</summary>
    public bool AllHold() => gpus.Where(g => g.IsOpen).All(g => evaluator.Evaluate(g).Ok);

    public SchedulePlan ToPlan(string policy, IReadOnlyList<string> swapServed, IReadOnlyDictionary<string, string> unscheduled)
    {
        var plans = gpus.Where(g => g.IsOpen)
            .Select(g => new GpuPlan(g.Index, evaluator.Evaluate(g).Gpulets))
            .ToList();
        return new SchedulePlan(policy, plans, swapServed, unscheduled);
    }
}
