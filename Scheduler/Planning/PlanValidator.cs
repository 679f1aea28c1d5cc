namespace OrleansServe.Scheduler.Planning;

/// <summary>
/// Checks a plan against the cluster and the demands, independently of the planner that made it: layout limits,
/// memory, rate coverage, latencies no better than predicted, and each model's SLO under the plan's time sharing.
/// </summary>
public static class PlanValidator
{
    private const double Eps = 1e-6;

    /// <summary>Every violation found, as a sentence; an empty list means the plan holds.</summary>
    /// <param name="minServedFraction">Share of an assignment's rate its batch must sustain; gpulet tolerates 0.85 under interference.</param>
    /// <param name="gpuletContextBytes">Device bytes each occupied gpulet needs beyond its models, as the planner was told.</param>
    public static IReadOnlyList<string> Validate(
        SchedulePlan plan,
        IReadOnlyList<ModelDemand> demands,
        ClusterSpec cluster,
        ILatencyModel latency,
        IInterferencePredictor interference,
        double minServedFraction = 1.0,
        long gpuletContextBytes = 0)
    {
        var violations = new List<string>();
        var specs = demands.ToDictionary(d => d.Model.Name, d => d.Model);
        var swapped = plan.SwapServed.ToHashSet();
        var onDemand = plan.Policy == "swap";

        if (plan.Gpus.Count > cluster.MaxGpus)
        {
            violations.Add($"plan uses {plan.Gpus.Count} GPUs, more than {cluster.MaxGpus}");
        }

        foreach (var duplicate in plan.Gpus.GroupBy(g => g.Gpu).Where(g => g.Count() > 1))
        {
            violations.Add($"GPU {duplicate.Key} appears {duplicate.Count()} times");
        }

        foreach (var gpu in plan.Gpus)
        {
            CheckGpu(gpu);
        }

        var covered = plan.Gpus.SelectMany(g => g.Gpulets).SelectMany(g => g.Models)
            .GroupBy(a => a.Model).ToDictionary(g => g.Key, g => g.Sum(a => a.RateRps));
        foreach (var demand in demands.Where(d => d.RateRps > 0 && !plan.Unscheduled.ContainsKey(d.Model.Name)))
        {
            var rate = covered.GetValueOrDefault(demand.Model.Name);
            if (rate < demand.RateRps * (1 - 1e-9))
            {
                violations.Add($"{demand.Model.Name} covered at {rate:0.###} rps, below its demand of {demand.RateRps:0.###} rps");
            }
        }

        return violations;

        void CheckGpu(GpuPlan gpu)
        {
            if (gpu.Gpu < 0 || gpu.Gpu >= cluster.MaxGpus)
            {
                violations.Add($"GPU {gpu.Gpu} is outside the cluster's {cluster.MaxGpus} GPUs");
            }

            if (gpu.Gpulets.Count > cluster.MaxGpuletsPerGpu)
            {
                violations.Add($"GPU {gpu.Gpu} has {gpu.Gpulets.Count} gpulets, more than {cluster.MaxGpuletsPerGpu}");
            }

            if (gpu.Gpulets.Sum(g => g.Partition) > 100)
            {
                violations.Add($"GPU {gpu.Gpu} partitions sum to {gpu.Gpulets.Sum(g => g.Partition)}%, over 100%");
            }

            long memory = 0;
            foreach (var gpulet in gpu.Gpulets)
            {
                if (!cluster.Partitions.Contains(gpulet.Partition))
                {
                    violations.Add($"GPU {gpu.Gpu} has a {gpulet.Partition}% gpulet, not an allowed partition");
                }

                var unknown = gpulet.Models.Where(a => !specs.ContainsKey(a.Model)).ToList();
                foreach (var a in unknown)
                {
                    violations.Add($"GPU {gpu.Gpu} serves {a.Model}, which has no demand");
                }

                var known = gpulet.Models.Where(a => specs.ContainsKey(a.Model)).ToList();
                var residents = known.Where(a => !swapped.Contains(a.Model)).Select(a => specs[a.Model]).DistinctBy(m => m.Name).ToList();
                memory += (known.Count > 0 ? gpuletContextBytes : 0)
                    + residents.Sum(m => m.MemoryBytes)
                    + known.Where(a => swapped.Contains(a.Model)).Select(a => specs[a.Model].MemoryBytes).DefaultIfEmpty(0).Max();
                if (!onDemand && residents.Count > cluster.MaxModelsPerGpulet)
                {
                    violations.Add($"GPU {gpu.Gpu}'s {gpulet.Partition}% gpulet holds {residents.Count} models, more than {cluster.MaxModelsPerGpulet}");
                }

                CheckLatencies(gpu, gpulet, known);
                CheckTime(gpu, gpulet, known);
            }

            if (memory > cluster.GpuMemoryBytes)
            {
                violations.Add($"GPU {gpu.Gpu} needs {memory} B of memory, more than {cluster.GpuMemoryBytes} B");
            }
        }

        void CheckLatencies(GpuPlan gpu, Gpulet gpulet, List<GpuletAssignment> known)
        {
            var neighbours = gpu.Gpulets.Where(g => !ReferenceEquals(g, gpulet))
                .SelectMany(g => g.Models.Where(a => !swapped.Contains(a.Model)).Select(a => (a.Model, g.Partition)))
                .ToList();
            foreach (var a in known)
            {
                var slowdown = neighbours.Select(n => interference.Slowdown(a.Model, gpulet.Partition, n.Model, n.Partition)).DefaultIfEmpty(1.0).Max();
                var swapMs = swapped.Contains(a.Model) ? specs[a.Model].WeightBytes / cluster.PcieBytesPerSecond * 1000.0 : 0;
                var predicted = (latency.LatencyMs(a.Model, gpulet.Partition, a.Batch) * Math.Max(1.0, slowdown)) + swapMs;
                if (a.LatencyMs < predicted - Eps)
                {
                    violations.Add($"{a.Model} on GPU {gpu.Gpu} is planned at {a.LatencyMs:0.###} ms, below the predicted {predicted:0.###} ms");
                }

                if (a.Batch < 1 || a.DutyCycleMs <= 0 || a.RateRps <= 0)
                {
                    violations.Add($"{a.Model} on GPU {gpu.Gpu} has a batch, duty cycle or rate that is not positive");
                }
                else if (a.Batch * 1000.0 / a.DutyCycleMs < a.RateRps * minServedFraction * (1 - 1e-9) && !swapped.Contains(a.Model))
                {
                    violations.Add($"{a.Model} on GPU {gpu.Gpu}: batch {a.Batch} every {a.DutyCycleMs:0.###} ms does not sustain {a.RateRps:0.###} rps");
                }
            }
        }

        void CheckTime(GpuPlan gpu, Gpulet gpulet, List<GpuletAssignment> known)
        {
            var busy = known.Sum(a => a.LatencyMs / a.DutyCycleMs);
            if (busy > (1 / minServedFraction) + Eps)
            {
                violations.Add($"GPU {gpu.Gpu}'s {gpulet.Partition}% gpulet is busy {busy:P1} of its time");
            }

            if (onDemand)
            {
                // On-demand serving: a request waits for the rest of its batch, then runs (swap-in included in L).
                foreach (var a in known.Where(a => a.LatencyMs + ((a.Batch - 1) * 1000.0 / a.RateRps) > specs[a.Model].SloMs + Eps))
                {
                    violations.Add($"{a.Model} on GPU {gpu.Gpu} misses its SLO of {specs[a.Model].SloMs} ms");
                }

                return;
            }

            // Time sharing: one round runs every resident batch and at most one swap-in.
            var residentSum = known.Where(a => !swapped.Contains(a.Model)).Sum(a => a.LatencyMs);
            var swaps = known.Where(a => swapped.Contains(a.Model)).Select(a => a.LatencyMs).OrderDescending().ToList();
            var round = residentSum + swaps.DefaultIfEmpty(0).First();
            foreach (var a in known)
            {
                var wait = swapped.Contains(a.Model)
                    ? residentSum + a.LatencyMs + (swaps.Count > 1 ? (swaps[0] == a.LatencyMs ? swaps[1] : swaps[0]) : 0)
                    : round + a.DutyCycleMs;
                if (wait > specs[a.Model].SloMs + Eps)
                {
                    violations.Add($"{a.Model} on GPU {gpu.Gpu}'s {gpulet.Partition}% gpulet waits up to {wait:0.###} ms, over its SLO of {specs[a.Model].SloMs} ms");
                }
            }
        }
    }
}
