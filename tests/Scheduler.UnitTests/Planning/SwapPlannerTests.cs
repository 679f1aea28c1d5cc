namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class SwapPlannerTests
{
    // Batch 1 takes 10 ms on a whole GPU; a swap-in of 120 MB at 12 GB/s adds 10 ms. SLO 30 ms keeps every batch at 1.
    private static readonly AnalyticLatency Latency = new AnalyticLatency()
        .With("s1", 9, 1).With("s2", 9, 1).With("s3", 9, 1).With("s4", 9, 1).With("s5", 9, 1);

    private static readonly SwapPlanner Planner = new(Fixtures.Exact);

    [Fact]
    public void GPU_keeps_its_hottest_models_resident_and_swaps_the_rest_while_its_time_lasts()
    {
        // GPU 0: s1, s2 resident (0.2 each busy), s3 and s4 swapped (20 × 20 ms = 0.4, 5 × 20 ms = 0.1): 0.9.
        // s5 swapped there too would add 15 × 20 ms = 0.3, over 1, so it goes to GPU 1, resident.
        var demands = new[] { ("s1", 20.0), ("s2", 20.0), ("s3", 20.0), ("s4", 5.0), ("s5", 15.0) }
            .Select(x => new ModelDemand(Fixtures.Model(x.Item1, 30, memoryBytes: 4 * Fixtures.GiB), x.Item2)).ToArray();
        var cluster = Fixtures.Cluster(2, memoryBytes: 12 * Fixtures.GiB);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.True(plan.IsComplete);
        Assert.Equal(["s3", "s4"], plan.SwapServed);
        var gpu0 = Assert.Single(plan.Gpus[0].Gpulets);
        Assert.Equal(100, gpu0.Partition);
        Assert.Equal(["s1", "s2", "s3", "s4"], gpu0.Models.Select(a => a.Model).Order());
        Assert.Equal(0.9, gpu0.Models.Sum(a => a.RateRps / a.Batch * a.LatencyMs / 1000), 9);
        Assert.Equal(20, gpu0.Models.Single(a => a.Model == "s3").LatencyMs, 9);
        Assert.Equal("s5", Assert.Single(Assert.Single(plan.Gpus[1].Gpulets).Models).Model);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Model_whose_swap_in_breaks_its_SLO_needs_residency()
    {
        // SLO 15 ms: 10 ms resident is fine, 20 ms with a swap-in is not; memory holds one model per GPU.
        var demands = new[] { "s1", "s2" }.Select(n => new ModelDemand(Fixtures.Model(n, 15, memoryBytes: 8 * Fixtures.GiB), 10)).ToArray();
        var cluster = Fixtures.Cluster(2, memoryBytes: 12 * Fixtures.GiB);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.Empty(plan.SwapServed);
        Assert.Equal(2, plan.Gpus.Count);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Rate_beyond_one_GPU_is_spread_over_several()
    {
        // A 12 ms SLO allows batch 1 only (batch 2 would wait 6.7 ms for its second request): 150 rps × 10 ms = 1.5 GPUs.
        var demands = new[] { new ModelDemand(Fixtures.Model("s1", 12), 150) };
        var cluster = Fixtures.Cluster(2);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.True(plan.IsComplete);
        Assert.Equal(2, plan.Gpus.Count);
        Assert.Equal(150, plan.Assignments("s1").Sum(a => a.RateRps), 6);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }
}
