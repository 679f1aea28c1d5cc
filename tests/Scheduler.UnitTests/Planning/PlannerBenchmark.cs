using System.Diagnostics;
using Xunit.Abstractions;

namespace OrleansServe.Scheduler.UnitTests.Planning;

/// <summary>
/// Times planning 100 models of mixed size, SLO and rate on 16 GPUs. A measurement to print, never to assert on:
/// wall-clock time depends on the machine.
/// </summary>
public static class PlannerBenchmark
{
    public static (IReadOnlyList<ModelDemand> Demands, ClusterSpec Cluster, AnalyticLatency Latency) Workload()
    {
        var latency = new AnalyticLatency();
        var demands = new List<ModelDemand>();
        for (var i = 0; i < 100; i++)
        {
            var name = $"m{i:000}";
            var c0 = 2 + (i % 7);
            var c1 = 0.2 + (i % 5 * 0.3);
            latency.With(name, c0, c1, saturation: new[] { 40, 60, 80, 100 }[i % 4]);
            var slo = 40 + (i % 6 * 30);

            // A few busy models, many moderate ones, and a long tail of rare ones, as in production traces.
            var rate = i < 10 ? 150 + (i * 20) : i < 40 ? 5 + i : 0.05 * (1 + (i % 4));
            demands.Add(new ModelDemand(new ModelSpec(name, slo, 512L << 20, 100_000_000), rate));
        }

        return (demands, new ClusterSpec(16, 16L << 30, ClusterSpec.GpuletPartitions), latency);
    }

    /// <summary>Median milliseconds of several planning runs after a warm-up.</summary>
    public static double Run(IPlanner planner, int runs = 5)
    {
        var (demands, cluster, latency) = Workload();
        planner.Plan(demands, cluster, latency, NoInterference.Instance);
        var times = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            var watch = Stopwatch.StartNew();
            planner.Plan(demands, cluster, latency, NoInterference.Instance);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        return times.Order().ElementAt(runs / 2);
    }

    /// <summary>The gpulet planner, the one the 100 ms budget is for.</summary>
    public static double Run() => Run(new GpuletPlanner());
}

public sealed class PlannerBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void Prints_planning_time_for_100_models_on_16_GPUs()
    {
        foreach (IPlanner planner in new IPlanner[] { new GpuletPlanner(), new TemporalPlanner(), new SwapPlanner(), new OrleansServePlanner() })
        {
            var ms = PlannerBenchmark.Run(planner);
            var (demands, cluster, latency) = PlannerBenchmark.Workload();
            var plan = planner.Plan(demands, cluster, latency, NoInterference.Instance);
            output.WriteLine(
                $"{planner.Name}: {ms:0.0} ms, {plan.Gpus.Count} GPUs, {plan.SwapServed.Count} swap-served, {plan.Unscheduled.Count} unscheduled");
            Assert.Empty(PlanValidator.Validate(plan, demands, cluster, latency, NoInterference.Instance));
        }
    }
}
