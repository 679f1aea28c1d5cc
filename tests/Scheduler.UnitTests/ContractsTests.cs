namespace OrleansServe.Scheduler.UnitTests;

public sealed class ContractsTests
{
    [Fact]
    public void A_plan_with_unscheduled_models_is_not_complete()
    {
        var plan = new SchedulePlan("gpulet", [], [], new Dictionary<string, string> { ["bert"] = "SLO below its solo latency" });
        Assert.False(plan.IsComplete);
        Assert.Equal(1.0, NoInterference.Instance.Slowdown("a", 50, "b", 50));
    }
}
