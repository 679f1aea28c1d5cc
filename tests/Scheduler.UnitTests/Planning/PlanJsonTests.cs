namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class PlanJsonTests
{
    [Fact]
    public void Plan_round_trips_through_snake_case_JSON()
    {
        var plan = new SchedulePlan(
            "orleansserve",
            [new GpuPlan(3, [new Gpulet(60, [new("resnet50", 8, 40, 40, 200), new("rare", 1, 100_000, 35, 0.01)]), new Gpulet(40, [])])],
            ["rare"],
            new Dictionary<string, string> { ["BERT-Large"] = "SLO 10 ms is below its batch-1 latency 22 ms on a whole GPU" });

        var json = PlanJson.Serialize(plan);
        var back = PlanJson.Deserialize(json);

        Assert.Contains("\"swap_served\"", json, StringComparison.Ordinal);
        Assert.Contains("\"duty_cycle_ms\": 40", json, StringComparison.Ordinal);
        Assert.Contains("\"BERT-Large\"", json, StringComparison.Ordinal);
        Assert.Equal(json, PlanJson.Serialize(back));
        Assert.Equal(plan.Gpus[0].Gpulets[0].Models, back.Gpus[0].Gpulets[0].Models);
        Assert.False(back.IsComplete);
    }
}
