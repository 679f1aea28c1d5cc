using OrleansServe.Scheduler;
using static OrleansServe.Simulator.UnitTests.Fixtures;

namespace OrleansServe.Simulator.UnitTests;

public class MaxRateSearchTests
{
    // L(b) = 10·b ms: batching gains nothing, so one whole GPU serves exactly 100 req/s. With evenly spaced
    // arrivals nothing waits below that; above it the backlog grows and only 100/R of requests can be served,
    // so the 99% bar is crossed at R = 100/0.99 ≈ 101.
    private static readonly ILatencyModel Linear = new BatchLatency(b => 10.0 * b);

    private static Workload OneModel() => new("one", [new WorkloadStream(Model("m", 50), 1)], ArrivalKind.Uniform);

    private static MaxRateResult Search(int gpus) =>
        MaxRateSearch.Find(new WholeGpuPlanner(), OneModel(), Cluster(gpus), Linear, NoInterference.Instance, new MaxRateSearchOptions(DurationSeconds: 30));

    [Fact]
    public void Finds_the_analytic_capacity_of_one_gpu_within_tolerance()
    {
        var result = Search(gpus: 1);

        Assert.InRange(result.MaxRateRps, 99, 102);
        Assert.Equal(1, result.Gpus);
        Assert.True(result.SloAttainment >= 0.99);
        Assert.Equal("one", result.Workload);
        Assert.Equal("whole-gpu", result.Policy);
    }

    [Fact]
    public void Every_passing_probe_is_below_every_failing_probe()
    {
        var result = Search(gpus: 1);

        var highestPass = result.Probes.Where(p => p.Passed).Max(p => p.RateRps);
        var lowestFail = result.Probes.Where(p => !p.Passed).Min(p => p.RateRps);
        Assert.True(highestPass < lowestFail);
        Assert.Equal(highestPass, result.MaxRateRps);
    }

    [Fact]
    public void More_gpus_never_lower_the_max_rate()
    {
        var one = Search(gpus: 1);
        var two = Search(gpus: 2);

        Assert.True(two.MaxRateRps >= one.MaxRateRps);
        Assert.InRange(two.MaxRateRps, 198, 204);
    }

    [Fact]
    public void A_plan_with_unscheduled_models_fails_its_rate()
    {
        var workload = new Workload("two", [new WorkloadStream(Model("a", 50), 1), new WorkloadStream(Model("b", 50), 1)]);

        var result = MaxRateSearch.Find(new WholeGpuPlanner(), workload, Cluster(1), Linear, NoInterference.Instance, new MaxRateSearchOptions(DurationSeconds: 1));

        Assert.Equal(0, result.MaxRateRps);
        Assert.All(result.Probes, p => Assert.Contains("unscheduled", p.Reason));
    }

    [Fact]
    public void Same_seed_gives_the_same_search()
    {
        var workload = Workloads.Scenario(2);
        var options = new MaxRateSearchOptions(DurationSeconds: 5, Seed: 3);
        MaxRateResult Run() => MaxRateSearch.Find(new WholeGpuPlanner(), workload, Cluster(2), new AnalyticLatencyModel(), NoInterference.Instance, options);

        var first = Run();
        var second = Run();

        Assert.Equal(first.MaxRateRps, second.MaxRateRps);
        Assert.Equal(first.Probes, second.Probes);
    }
}
