using OrleansServe.Scheduler;

namespace OrleansServe.Simulator;

/// <summary>How <see cref="MaxRateSearch"/> probes rates.</summary>
/// <param name="TargetAttainment">Share of requests that must finish within SLO for a rate to pass (0.99).</param>
/// <param name="StepRps">The coarse grid: rates are first probed at multiples of this (gpulet swept 10·i).</param>
/// <param name="ToleranceRps">The search refines below one step until the pass/fail gap is at most this.</param>
/// <param name="MaxRateRps">No rate above this is probed.</param>
public sealed record MaxRateSearchOptions(
    double DurationSeconds = 30,
    int Seed = 1,
    double TargetAttainment = 0.99,
    double StepRps = 10,
    double ToleranceRps = 1,
    double MaxRateRps = 1_000_000)
{
    /// <summary>The simulated server's knobs for every probe.</summary>
    public SimulationOptions Simulation { get; init; } = new();
}

/// <summary>One probed rate.</summary>
/// <param name="SimulatedRequests">Requests the probe's run simulated (0 when it failed before simulating).</param>
/// <param name="Passed">The plan was complete within the GPU budget and the run met the target attainment.</param>
/// <param name="Gpus">GPUs the plan used.</param>
/// <param name="Reason">Why a rate failed before simulation (unscheduled models, too many GPUs); null otherwise.</param>
public sealed record RateProbe(double RateRps, bool Passed, double SloAttainment, int Gpus, double ModelsPerGpu, string? Reason, long SimulatedRequests = 0)
{
    /// <summary>Wall seconds the probe's simulation took; excluded from equality, since it is not deterministic.</summary>
    public double WallSeconds { get; init; }

    /// <inheritdoc />
    public bool Equals(RateProbe? other) =>
        other is not null && RateRps == other.RateRps && Passed == other.Passed && SloAttainment == other.SloAttainment
        && Gpus == other.Gpus && ModelsPerGpu == other.ModelsPerGpu && Reason == other.Reason && SimulatedRequests == other.SimulatedRequests;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(RateRps, Passed, SloAttainment, Gpus, ModelsPerGpu, Reason, SimulatedRequests);
}

/// <summary>The highest rate found and the figures at it.</summary>
/// <param name="MaxRateRps">Highest passing total rate; 0 when even the smallest probe failed.</param>
/// <param name="Probes">Every probe in the order made, for inspection.</param>
public sealed record MaxRateResult(
    string Workload,
    string Policy,
    double MaxRateRps,
    int Gpus,
    double SloAttainment,
    double ModelsPerGpu,
    IReadOnlyList<RateProbe> Probes)
{
    /// <summary>Requests simulated over all probes.</summary>
    public long SimulatedRequests => Probes.Sum(p => p.SimulatedRequests);

    /// <summary>Simulated requests per wall second over all probes: the simulator's own speed.</summary>
    public double SimulatedRequestsPerWallSecond
    {
        get
        {
            var wall = Probes.Sum(p => p.WallSeconds);
            return wall > 0 ? SimulatedRequests / wall : 0;
        }
    }
}

/// <summary>
/// Finds the highest total rate a policy serves a workload at with the target SLO attainment on at most
/// <see cref="ClusterSpec.MaxGpus"/> GPUs: plan at the rate, simulate, and search. The grid is doubled from one step
/// until a rate fails, bisected on the step grid, then bisected within a step down to the tolerance. Every probe
/// uses the same seed, so the search is deterministic; it assumes attainment falls as the rate rises.
/// </summary>
public static class MaxRateSearch
{
    /// <summary>Runs the search.</summary>
    public static MaxRateResult Find(
        IPlanner planner,
        Workload workload,
        ClusterSpec cluster,
        ILatencyModel latency,
        IInterferencePredictor interference,
        MaxRateSearchOptions options,
        IInterferencePredictor? actualInterference = null)
    {
        var probes = new List<RateProbe>();
        RateProbe Probe(double rate)
        {
            var probe = ProbeRate(planner, workload, cluster, latency, interference, options, rate, actualInterference);
            probes.Add(probe);
            return probe;
        }

        RateProbe? best = null;
        double failed;
        var step = options.StepRps;
        var first = Probe(step);
        if (first.Passed)
        {
            best = first;
            // Doubling on the step grid finds a failing multiple in logarithmically many probes.
            long passK = 1, failK = 0;
            for (var k = 2L; k * step <= options.MaxRateRps; k *= 2)
            {
                var probe = Probe(k * step);
                if (!probe.Passed)
                {
                    failK = k;
                    break;
                }
                best = probe;
                passK = k;
            }
            if (failK == 0)
            {
                return Result(workload, planner, best, probes);
            }
            while (failK - passK > 1)
            {
                var mid = (passK + failK) / 2;
                var probe = Probe(mid * step);
                if (probe.Passed)
                {
                    best = probe;
                    passK = mid;
                }
                else
                {
                    failK = mid;
                }
            }
            failed = failK * step;
        }
        else
        {
            failed = step;
        }

        var low = best?.RateRps ?? 0;
        while (failed - low > options.ToleranceRps)
        {
            var mid = (low + failed) / 2;
            var probe = Probe(mid);
            if (probe.Passed)
            {
                best = probe;
                low = mid;
            }
            else
            {
                failed = mid;
            }
        }
        return Result(workload, planner, best, probes);
    }

    /// <summary>Plans one rate with the planner's interference prediction, then simulates it with the actual interference (the prediction when none is given).</summary>
    public static RateProbe ProbeRate(
        IPlanner planner,
        Workload workload,
        ClusterSpec cluster,
        ILatencyModel latency,
        IInterferencePredictor interference,
        MaxRateSearchOptions options,
        double rateRps,
        IInterferencePredictor? actualInterference = null)
    {
        var plan = planner.Plan(workload.Demands(rateRps), cluster, latency, interference);
        if (!plan.IsComplete)
        {
            return new RateProbe(rateRps, false, 0, plan.Gpus.Count, 0, $"{plan.Unscheduled.Count} model(s) unscheduled");
        }
        if (plan.Gpus.Count > cluster.MaxGpus)
        {
            return new RateProbe(rateRps, false, 0, plan.Gpus.Count, 0, $"plan uses {plan.Gpus.Count} GPUs of {cluster.MaxGpus}");
        }
        var input = SimulationInput.ForWorkload(plan, workload, rateRps, cluster, latency, actualInterference ?? interference, options.DurationSeconds, options.Seed)
            with
        { Options = options.Simulation };
        var result = Simulation.Run(input);
        return new RateProbe(rateRps, result.SloAttainment >= options.TargetAttainment, result.SloAttainment, result.GpusUsed, result.ModelsPerGpu, null, result.TotalRequests)
        {
            WallSeconds = result.WallSeconds,
        };
    }

    private static MaxRateResult Result(Workload workload, IPlanner planner, RateProbe? best, List<RateProbe> probes) =>
        new(workload.Name, planner.Name, best?.RateRps ?? 0, best?.Gpus ?? 0, best?.SloAttainment ?? 0, best?.ModelsPerGpu ?? 0, probes);
}
