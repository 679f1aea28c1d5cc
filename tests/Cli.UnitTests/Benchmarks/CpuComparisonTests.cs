using OrleansServe.Scheduler;

namespace OrleansServe.Cli.UnitTests.Benchmarks;

public sealed class CpuComparisonTests
{
    private static ModelDemand Demand(string name, double rate) => new(new ModelSpec(name, 10, 1000, 500), rate);

    [Fact]
    public void A_plan_becomes_one_gpulet_per_planned_gpulet_with_its_models_bound()
    {
        var plan = new SchedulePlan("gpulet", [new GpuPlan(0, [
            new Gpulet(50, [new GpuletAssignment("big", 4, 8, 6, 60)]),
            new Gpulet(50, [new GpuletAssignment("big", 2, 8, 4, 40), new GpuletAssignment("small", 8, 8, 1, 100)]),
        ])], [], new Dictionary<string, string>());

        var (partitions, streams) = CpuComparison.Apply(plan, [Demand("big", 100), Demand("small", 100)]);

        Assert.Equal([50, 50], partitions.Select(p => p.SmPercent));
        Assert.Equal(["big"], partitions[0].Models);
        Assert.Equal(["big", "small"], partitions[1].Models);
        var big = streams.Single(s => s.Model == "big");
        Assert.Equal((100, 10, 4, 2), (big.RateRps, big.SloMs, big.MaxBatch, big.Lanes));
        var small = streams.Single(s => s.Model == "small");
        Assert.Equal((8, 1), (small.MaxBatch, small.Lanes));
    }

    [Fact]
    public void A_plan_is_described_in_one_line_per_gpulet()
    {
        var plan = new SchedulePlan("temporal", [new GpuPlan(0, [
            new Gpulet(100, [new GpuletAssignment("a", 2, 8, 4, 40), new GpuletAssignment("b", 1, 8, 1, 10)]),
        ])], [], new Dictionary<string, string>());

        Assert.Equal("100%[a/2 b/1]", CpuComparison.Describe(plan));
    }
}
