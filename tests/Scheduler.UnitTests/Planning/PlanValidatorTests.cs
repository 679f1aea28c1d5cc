namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class PlanValidatorTests
{
    private static readonly AnalyticLatency Latency = new AnalyticLatency().With("a", 8, 1).With("b", 8, 1).With("c", 8, 1).With("d", 8, 1);
    private static readonly ClusterSpec Cluster = Fixtures.Cluster(2, memoryBytes: 4 * Fixtures.GiB);

    private static ModelDemand Demand(string name, double rate, long memory = Fixtures.GiB) => new(Fixtures.Model(name, 80, memory), rate);

    private static SchedulePlan Plan(params GpuPlan[] gpus) => new("gpulet", gpus, [], new Dictionary<string, string>());

    private static IReadOnlyList<string> Validate(SchedulePlan plan, params ModelDemand[] demands) =>
        PlanValidator.Validate(plan, demands, Cluster, Latency, NoInterference.Instance);

    [Fact]
    public void Sound_plan_has_no_violations()
    {
        // a at 50%: batch 12 in 40 ms, back to back, 300 rps.
        var plan = Plan(new GpuPlan(0, [new Gpulet(50, [new("a", 12, 40, 40, 300)]), new Gpulet(50, [])]));

        Assert.Empty(Validate(plan, Demand("a", 300)));
    }

    [Fact]
    public void Partitions_over_a_whole_GPU_are_flagged()
    {
        var plan = Plan(new GpuPlan(0, [new Gpulet(60, [new("a", 12, 40, 40, 300)]), new Gpulet(60, [])]));

        Assert.Contains(Validate(plan, Demand("a", 300)), v => v.Contains("over 100%", StringComparison.Ordinal));
    }

    [Fact]
    public void Partition_outside_the_allowed_sizes_is_flagged()
    {
        var plan = Plan(new GpuPlan(0, [new Gpulet(70, [new("a", 12, 30, 30, 300)])]));

        Assert.Contains(Validate(plan, Demand("a", 300)), v => v.Contains("not an allowed partition", StringComparison.Ordinal));
    }

    [Fact]
    public void More_than_three_models_on_a_gpulet_is_flagged()
    {
        var models = new[] { "a", "b", "c", "d" }.Select(n => new GpuletAssignment(n, 1, 71, 9, 1)).ToList();
        var plan = Plan(new GpuPlan(0, [new Gpulet(100, models)]));

        Assert.Contains(Validate(plan, Demand("a", 1), Demand("b", 1), Demand("c", 1), Demand("d", 1)), v => v.Contains("more than 3", StringComparison.Ordinal));
    }

    [Fact]
    public void Memory_over_the_GPU_is_flagged()
    {
        var plan = Plan(new GpuPlan(0, [new Gpulet(50, [new("a", 12, 40, 40, 300)]), new Gpulet(50, [new("b", 12, 40, 40, 300)])]));

        Assert.Contains(
            Validate(plan, Demand("a", 300, 3 * Fixtures.GiB), Demand("b", 300, 3 * Fixtures.GiB)),
            v => v.Contains("memory", StringComparison.Ordinal));
    }

    [Fact]
    public void Rate_left_uncovered_is_flagged()
    {
        var plan = Plan(new GpuPlan(0, [new Gpulet(50, [new("a", 12, 40, 40, 300)])]));

        Assert.Contains(Validate(plan, Demand("a", 400)), v => v.Contains("below its demand", StringComparison.Ordinal));
    }

    [Fact]
    public void Latency_planned_below_the_prediction_is_flagged()
    {
        var plan = Plan(new GpuPlan(0, [new Gpulet(50, [new("a", 12, 35, 35, 300)])]));

        Assert.Contains(Validate(plan, Demand("a", 300)), v => v.Contains("below the predicted", StringComparison.Ordinal));
    }

    [Fact]
    public void Time_share_that_breaks_an_SLO_is_flagged()
    {
        // Two 40 ms batches in a round and a 40 ms duty cycle: 120 ms, over 80; and busy 200% of the time.
        var plan = Plan(new GpuPlan(0, [new Gpulet(50, [new("a", 12, 40, 40, 300), new("b", 12, 40, 40, 300)])]));

        var violations = Validate(plan, Demand("a", 300), Demand("b", 300));

        Assert.Contains(violations, v => v.Contains("over its SLO", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.Contains("busy", StringComparison.Ordinal));
    }

    [Fact]
    public void Unscheduled_model_needs_no_coverage_but_a_model_without_demand_is_flagged()
    {
        var plan = new SchedulePlan(
            "gpulet", [new GpuPlan(0, [new Gpulet(50, [new("b", 12, 40, 40, 300)])])], [], new Dictionary<string, string> { ["a"] = "too slow" });

        Assert.Equal(["GPU 0 serves b, which has no demand"], Validate(plan, Demand("a", 300)));
    }
}
