namespace OrleansServe.Scheduler.Planning;

/// <summary>
/// Turns a GPU's members into assignments and says whether they hold: memory, models per gpulet, time sharing within
/// each gpulet, and the neighbour's interference on the complementary gpulet.
/// </summary>
internal sealed class GpuEvaluator(ClusterSpec cluster, IInterferencePredictor interference, PlannerOptions options)
{
    /// <summary>The outcome of evaluating one GPU: null reason means it holds.</summary>
    internal sealed record Outcome(string? Reason, bool ByInterference, IReadOnlyList<Gpulet> Gpulets, double[] Utilisation)
    {
        public bool Ok => Reason is null;
    }

    public Outcome Evaluate(GpuSlot gpu)
    {
        var memory = gpu.Gpulets.Sum(g => (g.IsFree ? 0 : options.GpuletContextBytes)
            + g.Members.Where(m => m.Kind != MemberKind.Swap).Select(m => m.Model).DistinctBy(m => m.Name).Sum(m => m.MemoryBytes)
            + g.Members.Where(m => m.Kind == MemberKind.Swap).Select(m => m.Model.MemoryBytes).DefaultIfEmpty(0).Max());
        if (memory > cluster.GpuMemoryBytes)
        {
            return Fail($"GPU {gpu.Index} memory {memory} B exceeds {cluster.GpuMemoryBytes} B", false);
        }

        var gpulets = new List<Gpulet>(gpu.Gpulets.Count);
        var utilisation = new double[gpu.Gpulets.Count];
        for (var i = 0; i < gpu.Gpulets.Count; i++)
        {
            var slot = gpu.Gpulets[i];
            if (slot.Members.Where(m => m.Kind != MemberKind.Swap).Select(m => m.Model.Name).Distinct().Count() > cluster.MaxModelsPerGpulet)
            {
                return Fail($"gpulet {slot.Partition}% on GPU {gpu.Index} would hold more than {cluster.MaxModelsPerGpulet} models", false);
            }

            // The solo check is strict; the interference check tolerates gpulet's bounded loss of rate, not of SLO.
            var solo = Share(slot, _ => 1.0, 1.0);
            if (solo.Reason is not null)
            {
                return Fail(solo.Reason, false);
            }

            // Models on the neighbouring gpulet run in turn, so the worst of them bounds the slowdown; swap-served
            // models run too rarely to count as neighbours.
            var neighbours = gpu.Gpulets.Where((_, j) => j != i)
                .SelectMany(g => g.Members.Where(m => m.Kind != MemberKind.Swap).Select(m => (m.Model.Name, g.Partition)))
                .Distinct()
                .ToList();
            var shared = Share(
                slot,
                m => neighbours.Select(n => interference.Slowdown(m, slot.Partition, n.Name, n.Partition)).DefaultIfEmpty(1.0).Max(),
                options.MinServedFraction);
            if (shared.Reason is not null)
            {
                return Fail($"interference on GPU {gpu.Index}: {shared.Reason}", true);
            }

            gpulets.Add(new Gpulet(slot.Partition, shared.Assignments));
            utilisation[i] = shared.Utilisation;
        }

        return new Outcome(null, false, gpulets, utilisation);

        static Outcome Fail(string reason, bool byInterference) => new(reason, byInterference, [], []);
    }

    private static (string? Reason, IReadOnlyList<GpuletAssignment> Assignments, double Utilisation) Share(
        GpuletSlot slot, Func<string, double> slowdown, double minServed)
    {
        var latencies = slot.Members.Select(m =>
            (m.Kind == MemberKind.Swap ? m.SwapMs : 0) + (m.SoloLatencyMs * Math.Max(1.0, slowdown(m.Model.Name)))).ToArray();
        var residentSum = 0.0;
        var swapLatencies = new List<double>();
        for (var i = 0; i < latencies.Length; i++)
        {
            if (slot.Members[i].Kind == MemberKind.Swap)
            {
                swapLatencies.Add(latencies[i]);
            }
            else
            {
                residentSum += latencies[i];
            }
        }

        // One round of the gpulet: every resident batch once and at most one swap-in, since swap-served models are rare.
        var (maxSwap, secondSwap) = TopTwo(swapLatencies);
        var round = residentSum + maxSwap;
        var assignments = new GpuletAssignment[latencies.Length];
        var utilisation = 0.0;
        for (var i = 0; i < latencies.Length; i++)
        {
            var m = slot.Members[i];
            var l = latencies[i];
            double duty;
            switch (m.Kind)
            {
                case MemberKind.Saturated:
                    duty = l;
                    if (round + duty > m.Model.SloMs + 1e-9)
                    {
                        return ($"{m.Model.Name} would miss its SLO on a {slot.Partition}% gpulet", [], 0);
                    }

                    // Each resident runs once per round, so a saturated model shares its gpulet only if the round still serves its rate.
                    if (m.Batch * 1000.0 / Math.Max(duty, residentSum) < m.RateRps * minServed * (1 - 1e-9))
                    {
                        return ($"{m.Model.Name} would get under {minServed:P0} of its rate on a {slot.Partition}% gpulet", [], 0);
                    }

                    break;
                case MemberKind.Residue:
                    duty = Math.Min(m.Batch * 1000.0 / m.RateRps, m.Model.SloMs - round);
                    if (duty < l - 1e-9)
                    {
                        return ($"{m.Model.Name} would miss its SLO sharing a {slot.Partition}% gpulet", [], 0);
                    }

                    // Round-robin visits each resident once per round: the round must fit in the model's duty cycle,
                    // or its batches come too seldom for its rate (summed latency ≤ duty cycle, gpulet's rule).
                    if (residentSum > Math.Max(duty, l) + 1e-9 && m.Batch * 1000.0 / residentSum < m.RateRps * minServed * (1 - 1e-9))
                    {
                        return ($"{m.Model.Name} would get under {minServed:P0} of its rate sharing a {slot.Partition}% gpulet (a round takes {residentSum:0.#} ms)", [], 0);
                    }

                    break;
                default:
                    var others = l == maxSwap ? secondSwap : maxSwap;
                    if (residentSum + l + others > m.Model.SloMs + 1e-9)
                    {
                        return ($"{m.Model.Name} would miss its SLO swapping into a {slot.Partition}% gpulet", [], 0);
                    }

                    duty = 1000.0 / m.RateRps;
                    break;
            }

            utilisation += l / duty;
            assignments[i] = new GpuletAssignment(m.Model.Name, m.Batch, duty, l, m.RateRps);
        }

        if (utilisation > (1 / minServed) + 1e-9)
        {
            return ($"a {slot.Partition}% gpulet would be busy {utilisation:P0} of its time", [], 0);
        }

        return (null, assignments, utilisation);
    }

    /// <summary>The longest and second-longest swap-in latencies (0 where there are fewer), so each swap-served model's longest other is known.</summary>
    private static (double First, double Second) TopTwo(List<double> latencies)
    {
        double first = 0, second = 0;
        foreach (var l in latencies)
        {
            if (l > first)
            {
                (first, second) = (l, first);
            }
            else if (l > second)
            {
                second = l;
            }
        }

        return (first, second);
    }
}
