namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class OrleansServePlannerTests
{
    private static readonly AnalyticLatency Latency = Rare(new AnalyticLatency().With("linear", 8, 1).With("e0", 4, 1).With("e1", 4, 1));

    private static readonly OrleansServePlanner Planner = new(Fixtures.Exact);

    private static AnalyticLatency Rare(AnalyticLatency latency)
    {
        for (var i = 0; i < 100; i++)
        {
            latency.With($"rare{i:000}", 4, 1);
        }

        return latency;
    }

    private static IEnumerable<ModelDemand> RareDemands(int count) =>
        Enumerable.Range(0, count).Select(i => new ModelDemand(Fixtures.Model($"rare{i:000}", 100), 0.01));

    [Fact]
    public void Hundred_rare_models_share_one_gpulet_by_swapping()
    {
        // Batch 1 at 20% takes 25 ms plus a 10 ms swap-in; a round of one swap-in and the model's own fits 100 ms twice over.
        var demands = RareDemands(100).ToArray();
        var cluster = Fixtures.Cluster(4);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.True(plan.IsComplete);
        Assert.Equal(100, plan.SwapServed.Count);
        var gpulet = Assert.Single(plan.Gpus.SelectMany(g => g.Gpulets), g => g.Models.Count > 0);
        Assert.Equal(20, gpulet.Partition);
        Assert.All(gpulet.Models, a => Fixtures.AssertClose(new GpuletAssignment(a.Model, 1, 100_000, 35, 0.01), a));
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Busy_model_gets_gpulets_and_rare_models_swap_into_spare_room()
    {
        // linear at 1700 rps: two whole GPUs and a 40% residue busy 75%; the rare models cannot also wait behind that
        // residue's 30 ms batch within its duty cycle, so they swap into the free 60% beside it.
        var demands = RareDemands(10).Prepend(new ModelDemand(Fixtures.Model("linear", 80), 1700)).ToArray();
        var cluster = Fixtures.Cluster(4);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.True(plan.IsComplete);
        Assert.DoesNotContain("linear", plan.SwapServed);
        Assert.Equal(10, plan.SwapServed.Count);
        Assert.Equal(3, plan.Gpus.Count);
        Assert.Equal(60, plan.Gpus[2].Gpulets[1].Partition);
        Assert.Equal(10, plan.Gpus[2].Gpulets[1].Models.Count);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Theory]
    [InlineData(0.5, false)]
    [InlineData(2, false)]
    [InlineData(5, true)]
    [InlineData(100, true)]
    public void Model_earns_a_gpulet_when_it_would_keep_one_busy_a_tenth_of_the_time(double rate, bool earns)
    {
        // Smallest partition meeting an 80 ms SLO at low rates is 40%: batch 1 in 22.5 ms, so 4.4 rps is 10% busy.
        var rules = new BatchRules(Latency, Fixtures.Exact);

        Assert.Equal(earns, Planner.EarnsGpulet(rules, new ModelDemand(Fixtures.Model("linear", 80), rate), ClusterSpec.GpuletPartitions));
    }

    [Fact]
    public void Rare_model_too_tight_to_swap_gets_a_resident_gpulet()
    {
        // SLO 14 ms: batch 1 takes at least 5 ms and a swap-in 10, so it must stay resident; at 80% batch 1 takes
        // 6.25 ms and leaves a 7.75 ms duty cycle, the smallest partition that does.
        var demands = new[] { new ModelDemand(Fixtures.Model("rare000", 14), 0.01) };
        var cluster = Fixtures.Cluster(1);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.True(plan.IsComplete);
        Assert.Empty(plan.SwapServed);
        var gpulet = Assert.Single(plan.Gpus[0].Gpulets, g => g.Models.Count > 0);
        Assert.Equal(80, gpulet.Partition);
        Fixtures.AssertClose(new GpuletAssignment("rare000", 1, 7.75, 6.25, 0.01), Assert.Single(gpulet.Models));
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Rare_models_bind_to_the_GPU_whose_PCIe_link_carries_the_least_swapping()
    {
        // e0 and e1 (10 GiB each) get 20% residue gpulets on separate GPUs (b = 2, 30 ms). Each can host a swap-in
        // (25 + 10 ms) within both SLOs; with equal slack, a rare model goes where less is being swapped.
        var demands = new[] { "e0", "e1" }
            .Select(n => new ModelDemand(Fixtures.Model(n, 100, memoryBytes: 10 * Fixtures.GiB), 30))
            .Concat(RareDemands(4)).ToArray();
        var cluster = Fixtures.Cluster(2);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.True(plan.IsComplete);
        Assert.Equal(["e0", "rare000", "rare002"], plan.Gpus[0].Gpulets[0].Models.Select(a => a.Model));
        Assert.Equal(["e1", "rare001", "rare003"], plan.Gpus[1].Gpulets[0].Models.Select(a => a.Model));
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }
}
