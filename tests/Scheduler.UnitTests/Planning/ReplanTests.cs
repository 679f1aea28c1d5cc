namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class ReplanTests
{
    private static readonly AnalyticLatency Latency = new AnalyticLatency()
        .With("knee40", 8, 1, saturation: 40)
        .With("knee60", 8, 1, saturation: 60);

    private static readonly GpuletPlanner Planner = new(Fixtures.Exact);
    private static readonly ClusterSpec Cluster = Fixtures.Cluster(1);
    private static readonly ModelSpec Knee40 = Fixtures.Model("knee40", 80);
    private static readonly ModelSpec Knee60 = Fixtures.Model("knee60", 80);

    [Fact]
    public void New_model_is_placed_in_the_free_gpulet_and_the_others_are_kept()
    {
        var previous = Planner.Plan([new ModelDemand(Knee60, 400)], Cluster, Latency, NoInterference.Instance);
        ModelDemand[] demands = [new(Knee60, 400), new(Knee40, 200)];

        var result = Planner.Replan(previous, demands, Cluster, Latency, NoInterference.Instance);

        Assert.Equal(ReplanKind.Incremental, result.Kind);
        Assert.Equal(["knee40"], result.ChangedModels);
        var gpu = Assert.Single(result.Plan.Gpus);
        Assert.Equal(previous.Gpus[0].Gpulets[0], gpu.Gpulets[0], GpuletEquality.Instance);
        Assert.Equal("knee40", Assert.Single(gpu.Gpulets[1].Models).Model);
        Fixtures.AssertValid(result.Plan, demands, Cluster, Latency);
    }

    [Fact]
    public void Removed_model_frees_its_gpulet_and_a_lower_rate_keeps_its_gpulet()
    {
        var previous = Planner.Plan([new ModelDemand(Knee60, 400), new ModelDemand(Knee40, 200)], Cluster, Latency, NoInterference.Instance);
        ModelDemand[] demands = [new(Knee60, 300)];

        var result = Planner.Replan(previous, demands, Cluster, Latency, NoInterference.Instance);

        Assert.Equal(ReplanKind.Incremental, result.Kind);
        Assert.Empty(result.ChangedModels);
        Assert.Equal(previous.Gpus[0].Gpulets[0], result.Plan.Gpus[0].Gpulets[0], GpuletEquality.Instance);
        Assert.Empty(result.Plan.Gpus[0].Gpulets[1].Models);
        Fixtures.AssertValid(result.Plan, demands, Cluster, Latency);
    }

    [Fact]
    public void Growth_that_does_not_fit_beside_the_kept_gpulets_falls_back_to_a_full_plan()
    {
        // knee60 at 600 rps needs its 60% gpulet and a 40% residue; knee40 holds the 40% and cannot be moved incrementally.
        var previous = Planner.Plan([new ModelDemand(Knee60, 400), new ModelDemand(Knee40, 200)], Cluster, Latency, NoInterference.Instance);
        ModelDemand[] demands = [new(Knee60, 600), new(Knee40, 200)];

        var result = Planner.Replan(previous, demands, Cluster, Latency, NoInterference.Instance);

        Assert.Equal(ReplanKind.Full, result.Kind);
        Assert.Equal(["knee60"], result.ChangedModels);
        Assert.Equal(600, result.Plan.Assignments("knee60").Sum(a => a.RateRps), 9);
        Assert.Contains("knee40", result.Plan.Unscheduled.Keys);
        Fixtures.AssertValid(result.Plan, demands, Cluster, Latency);
    }

    private sealed class GpuletEquality : IEqualityComparer<Gpulet>
    {
        public static GpuletEquality Instance { get; } = new();

        public bool Equals(Gpulet? x, Gpulet? y) => x!.Partition == y!.Partition && x.Models.SequenceEqual(y.Models);

        public int GetHashCode(Gpulet obj) => obj.Partition;
    }
}
