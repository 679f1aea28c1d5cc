namespace OrleansServe.Simulator.UnitTests;

public class WorkloadsTests
{
    [Theory]
    [InlineData(1, new[] { "googlenet", "bert_base", "mnasnet1_0", "mobilenet_v2" })]
    [InlineData(2, new[] { "densenet161", "vgg16" })]
    [InlineData(3, new[] { "resnet50", "vgg16", "mobilenet_v2" })]
    [InlineData(4, new[] { "ssd_mobilenet_v1", "mnasnet1_0", "densenet161" })]
    [InlineData(5, new[] { "lenet5", "ssd_mobilenet_v1", "vgg16", "mnasnet1_0" })]
    public void Gpulet_scenarios_have_their_models_at_equal_rates(int scenario, string[] models)
    {
        var workload = Workloads.Scenario(scenario);

        var demands = workload.Demands(10 * models.Length);

        Assert.Equal(models, demands.Select(d => d.Model.Name));
        Assert.All(demands, d => Assert.Equal(10, d.RateRps, 9));
    }

    [Fact]
    public void Models_carry_the_papers_slos()
    {
        Assert.Equal(5, Workloads.Model("lenet5").SloMs);
        Assert.Equal(22, Workloads.Model("bert_base").SloMs);
        Assert.Equal(202, Workloads.Model("ssd_mobilenet_v1").SloMs);
        Assert.Equal(108, Workloads.Model("resnet50#3").SloMs);
    }

    [Fact]
    public void Game_is_six_lenets_and_a_resnet50()
    {
        var names = Workloads.Game().Streams.Select(s => s.Model.Name).ToList();

        Assert.Equal(6, names.Count(n => Workloads.ArchitectureOf(n) == "lenet5"));
        Assert.Equal(6, names.Distinct().Count(n => n.StartsWith("lenet5#", StringComparison.Ordinal)));
        Assert.Contains("resnet50", names);
        Assert.Equal(7, names.Count);
    }

    [Fact]
    public void Serverless_population_has_85_percent_of_models_at_most_once_a_minute()
    {
        var workload = Workloads.Serverless(models: 1000, totalRateRps: 100);

        var demands = workload.Demands(100);

        Assert.Equal(1000, demands.Count);
        var cold = demands.Count(d => d.RateRps <= (1.0 / 60) + 1e-12);
        Assert.InRange(cold, 845, 855);
        Assert.Equal(100, demands.Sum(d => d.RateRps), 6);
        Assert.All(demands, d => Assert.Contains('#', d.Model.Name));
        Assert.All(demands, d => Assert.Equal(Workloads.ArchitectureOf(d.Model.Name) == "bert_base" ? 200 : 80, d.Model.SloMs));
        Assert.True(demands.Select(d => Workloads.ArchitectureOf(d.Model.Name)).Distinct().Count() >= 10);
    }

    [Fact]
    public void Trace_workloads_scale_time_to_the_requested_rate()
    {
        var model = Fixtures.Model("m", 10);
        var workload = Workload.FromTrace("t", [model], [new TraceArrival(0, "m"), new TraceArrival(500, "m")], traceDurationMs: 1000);

        var trace = workload.TraceAt(4)!;

        Assert.Equal(2, workload.TraceRateRps, 9);
        Assert.Equal([0.0, 250.0], trace.Select(a => a.TimeMs));
    }

    [Fact]
    public void Every_listed_workload_name_resolves()
    {
        Assert.All(Workloads.Names, name => Assert.Equal(name, Workloads.ByName(name).Name));
    }
}
