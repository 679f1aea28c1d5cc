namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class TemporalPlannerTests
{
    private static readonly AnalyticLatency Latency = new AnalyticLatency()
        .With("knee40", 8, 1, saturation: 40)
        .With("knee60", 8, 1, saturation: 60)
        .With("t1", 4, 1).With("t2", 4, 1).With("t3", 4, 1);

    private static readonly TemporalPlanner Planner = new(Fixtures.Exact);

    [Fact]
    public void Saturating_models_each_get_whole_GPUs()
    {
        var demands = new[] { new ModelDemand(Fixtures.Model("knee40", 80), 200), new ModelDemand(Fixtures.Model("knee60", 80), 400) };
        var cluster = Fixtures.Cluster(4);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.Equal("temporal", plan.Policy);
        Assert.Equal(2, plan.Gpus.Count);
        Assert.All(plan.Gpus, g => Assert.Equal(100, Assert.Single(g.Gpulets).Partition));
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Residues_are_squished_onto_one_GPU_in_time()
    {
        var demands = new[] { "t1", "t2", "t3" }.Select(n => new ModelDemand(Fixtures.Model(n, 100), 10)).ToArray();
        var cluster = Fixtures.Cluster(4);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        var gpulet = Assert.Single(Assert.Single(plan.Gpus).Gpulets);
        Assert.Equal(100, gpulet.Partition);
        Assert.Equal(3, gpulet.Models.Count);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }
}
