using OrleansServe.Engine.Execution;
using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Planning;
using OrleansServe.Scheduler.Profiles;
using OrleansServe.Zoo;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>How <see cref="CpuComparison"/> probes and searches.</summary>
/// <param name="DurationSeconds">Seconds of load per probed rate.</param>
/// <param name="StepRps">Rates are first probed at doublings of this total rate.</param>
/// <param name="ToleranceRps">The search bisects until the pass/fail gap is at most this.</param>
/// <param name="MaxRateRps">No rate above this is probed.</param>
/// <param name="TargetAttainment">Share of requests that must finish within their SLO (0.99).</param>
public sealed record CpuComparisonOptions(
    double DurationSeconds = 5,
    int Seed = 1,
    double StepRps = 25,
    double ToleranceRps = 10,
    double MaxRateRps = 20_000,
    double TargetAttainment = 0.99);

/// <summary>One probed total rate of one policy on the real device.</summary>
/// <param name="Gpulets">The plan as applied: "share%[model/batch ...]" per gpulet.</param>
/// <param name="Reason">Why the rate failed before any load ran (the plan was incomplete or needed a second device).</param>
public sealed record CpuRateProbe(string Policy, double RateRps, bool Passed, double SloAttainment, string Gpulets, string? Reason, IReadOnlyList<StreamOutcome> Streams)
{
    /// <summary>99th percentile of the load generator's lateness in the run (ms).</summary>
    public double GeneratorLateP99Ms { get; init; }
}

/// <summary>A policy's highest passing total rate and every probe made on the way.</summary>
public sealed record CpuPolicyResult(string Policy, double MaxRateRps, double SloAttainment, string Gpulets, IReadOnlyList<CpuRateProbe> Probes);

/// <summary>
/// The planners' spatio-temporal against temporal-only comparison with real execution on the CPU device: each
/// policy plans one "GPU" (the CPU device, partitions as given, memory its budget) from a measured profile table;
/// the plan is applied to the device (one gpulet per planned gpulet, its models bound to it) and driven by an
/// open-loop Poisson load at the planned rates; the highest total rate at which the target share of requests
/// finishes within SLO is searched by doubling, then bisection.
/// </summary>
public sealed class CpuComparison(CpuBench bench, ProfileTable profile, IReadOnlyList<ModelSpec> models, IReadOnlyList<int> partitions, CpuComparisonOptions options)
{
    /// <summary>The one-device cluster the planners plan for.</summary>
    public ClusterSpec Cluster { get; } = new(1, bench.Device.MemoryBudgetBytes, partitions, MaxGpuletsPerGpu: 2, MaxModelsPerGpulet: 3);

    /// <summary>The planners' rules see batches up to the largest profiled one, never an extrapolation.</summary>
    public PlannerOptions PlannerOptions { get; } = PlannerOptions.Default with { MaxBatch = profile.Rows.Max(r => r.Batch) };

    /// <summary>
    /// Each model's spec. SLO: the sample zoo's configured SLO for a sample-zoo model when <paramref name="sampleSlos"/>
    /// is set; otherwise max(<paramref name="sloFactor"/> × its batch-1 latency on the whole device, <paramref name="sloFloorMs"/>).
    /// Memory is its file size twice (weights and a session's working set).
    /// </summary>
    public static IReadOnlyList<ModelSpec> Specs(CpuBench bench, ProfileTable profile, bool sampleSlos, double sloFactor, double sloFloorMs) =>
        [.. bench.Models.Select(m => new ModelSpec(
            m.Name,
            sampleSlos && SampleZoo.ModelNames.Contains(m.Name)
                ? SampleZoo.GetConfig(m.Name).SloMs
                : Math.Round(Math.Max(sloFactor * profile.LatencyMs(m.Name, 100, 1), sloFloorMs), 3),
            2 * m.Onnx.LongLength,
            m.Onnx.LongLength))];

    /// <summary>The demands at a total rate: the models share it equally.</summary>
    public IReadOnlyList<ModelDemand> Demands(double totalRps) => [.. models.Select(m => new ModelDemand(m, totalRps / models.Count))];

    /// <summary>The device's gpulets and each model's load for a complete one-device plan.</summary>
    public static (IReadOnlyList<PartitionSpec> Partitions, IReadOnlyList<LoadStream> Streams) Apply(SchedulePlan plan, IReadOnlyList<ModelDemand> demands)
    {
        var gpulets = plan.Gpus.Single().Gpulets;
        var specs = gpulets.Select(g => new PartitionSpec(g.Partition, [.. g.Models.Select(a => a.Model).Distinct()])).ToList();
        var streams = demands.Select(d =>
        {
            var assignments = gpulets.SelectMany(g => g.Models).Where(a => a.Model == d.Model.Name).ToList();
            return new LoadStream(d.Model.Name, d.RateRps, d.Model.SloMs, assignments.Max(a => a.Batch), assignments.Count);
        }).ToList();
        return (specs, streams);
    }

    /// <summary>The plan in one line: "50%[resnet_small/4] 50%[lenet5/2 mlp/8]".</summary>
    public static string Describe(SchedulePlan plan) =>
        string.Join(' ', plan.Gpus.SelectMany(g => g.Gpulets).Select(g => $"{g.Partition}%[{string.Join(' ', g.Models.Select(a => $"{a.Model}/{a.Batch}"))}]"));

    /// <summary>Plans one total rate and, when the plan fits the device, runs it.</summary>
    public async Task<CpuRateProbe> ProbeAsync(IPlanner planner, double totalRps)
    {
        var demands = Demands(totalRps);
        var plan = planner.Plan(demands, Cluster, profile, NoInterference.Instance);
        var described = Describe(plan);
        if (!plan.IsComplete)
        {
            return new CpuRateProbe(planner.Name, totalRps, false, 0, described, $"{plan.Unscheduled.Count} model(s) unscheduled", []);
        }
        if (plan.Gpus.Count != 1)
        {
            return new CpuRateProbe(planner.Name, totalRps, false, 0, described, $"plan uses {plan.Gpus.Count} devices", []);
        }
        var (specs, streams) = Apply(plan, demands);
        await bench.Device.RepartitionAsync(specs);
        await WarmUpAsync(streams);
        var outcome = await OpenLoopLoad.RunAsync(bench.Device, bench.InputsFor, streams, options.DurationSeconds, options.Seed, TimeSpan.FromSeconds(30));
        return new CpuRateProbe(planner.Name, totalRps, outcome.SloAttainment >= options.TargetAttainment, outcome.SloAttainment, described, null, outcome.Streams)
        {
            GeneratorLateP99Ms = outcome.GeneratorLateP99Ms,
        };
    }

    /// <summary>Doubling from one step until a rate fails, then bisection down to the tolerance.</summary>
    public async Task<CpuPolicyResult> SearchAsync(IPlanner planner, Action<CpuRateProbe> progress)
    {
        var probes = new List<CpuRateProbe>();
        async Task<CpuRateProbe> Probe(double rate)
        {
            var probe = await ProbeAsync(planner, rate);
            probes.Add(probe);
            progress(probe);
            return probe;
        }

        CpuRateProbe? best = null;
        var failed = 0.0;
        for (var rate = options.StepRps; rate <= options.MaxRateRps; rate *= 2)
        {
            var probe = await Probe(rate);
            if (!probe.Passed)
            {
                failed = rate;
                break;
            }
            best = probe;
        }
        if (failed > 0)
        {
            var low = best?.RateRps ?? 0;
            while (failed - low > options.ToleranceRps)
            {
                var mid = Math.Round((low + failed) / 2, 1);
                var probe = await Probe(mid);
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
        }
        return new CpuPolicyResult(planner.Name, best?.RateRps ?? 0, best?.SloAttainment ?? 0, best?.Gpulets ?? "", probes);
    }

    /// <summary>
    /// Swaps every model in on each gpulet it is bound to and runs each batch size once, so the timed load sees
    /// warm sessions (as a server's would be after its first requests).
    /// </summary>
    private async Task WarmUpAsync(IReadOnlyList<LoadStream> streams)
    {
        foreach (var stream in streams)
        {
            for (var batch = 1; batch <= stream.MaxBatch; batch++)
            {
                var (data, outputs) = bench.InputsFor(stream.Model, batch);
                // Concurrent batches go to different gpulets of the model (least in flight first).
                await Task.WhenAll(Enumerable.Range(0, stream.Lanes).Select(_ => bench.Device.RunAsync(stream.Model, data, outputs)));
            }
        }
    }
}
