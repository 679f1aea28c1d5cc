namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class PlannerInvariantTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var planner in new[] { "gpulet", "temporal", "swap", "orleansserve" })
        {
            for (var seed = 1; seed <= 8; seed++)
            {
                data.Add(planner, seed);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_plan_validates_and_every_model_is_covered_or_reported(string name, int seed)
    {
        var random = new Random(seed);
        var latency = new AnalyticLatency();
        var demands = new List<ModelDemand>();
        var slowdowns = new Dictionary<(string, string), double>();
        for (var i = 0; i < 30; i++)
        {
            var model = $"m{i:00}";
            latency.With(model, 1 + (random.NextDouble() * 10), 0.1 + random.NextDouble(), saturation: new[] { 20, 40, 60, 80, 100 }[random.Next(5)]);
            var rate = random.Next(3) switch { 0 => random.NextDouble() * 0.5, 1 => random.NextDouble() * 50, _ => random.NextDouble() * 400 };
            var spec = new ModelSpec(model, 20 + random.Next(200), (long)(random.NextDouble() * 3e9), (long)(random.NextDouble() * 3e8));
            demands.Add(new ModelDemand(spec, rate));
            slowdowns[(model, $"m{random.Next(30):00}")] = 1 + (random.NextDouble() * 0.6);
        }

        var interference = new TableInterference(slowdowns);
        var cluster = new ClusterSpec(8, 8L << 30, ClusterSpec.GpuletPartitions);
        IPlanner planner = name switch
        {
            "gpulet" => new GpuletPlanner(),
            "temporal" => new TemporalPlanner(),
            "swap" => new SwapPlanner(),
            _ => new OrleansServePlanner(),
        };

        var plan = planner.Plan(demands, cluster, latency, interference);

        var violations = PlanValidator.Validate(plan, demands, cluster, latency, interference, minServedFraction: 0.85);
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
        Assert.Equal(PlanJson.Serialize(plan), PlanJson.Serialize(planner.Plan(demands, cluster, latency, interference)));
        Assert.All(
            demands.Where(d => d.RateRps > 0 && !plan.Unscheduled.ContainsKey(d.Model.Name)),
            d => Assert.Contains(plan.Gpus.SelectMany(g => g.Gpulets).SelectMany(g => g.Models), a => a.Model == d.Model.Name));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Replan_after_rates_drift_validates_whichever_way_it_was_done(int seed)
    {
        var random = new Random(seed);
        var latency = new AnalyticLatency();
        var demands = new List<ModelDemand>();
        for (var i = 0; i < 20; i++)
        {
            latency.With($"m{i:00}", 1 + (random.NextDouble() * 8), 0.1 + random.NextDouble(), saturation: new[] { 40, 60, 100 }[random.Next(3)]);
            demands.Add(new ModelDemand(new ModelSpec($"m{i:00}", 40 + random.Next(150), 1L << 30, 100_000_000), random.NextDouble() * 150));
        }

        var cluster = new ClusterSpec(8, 16L << 30, ClusterSpec.GpuletPartitions);
        var planner = new GpuletPlanner();
        var previous = planner.Plan(demands, cluster, latency, NoInterference.Instance);
        var drifted = demands.Where((_, i) => i != 0)
            .Select(d => d with { RateRps = d.RateRps * (0.7 + (random.NextDouble() * 0.6)) })
            .ToList();

        var result = planner.Replan(previous, drifted, cluster, latency, NoInterference.Instance);

        Assert.Empty(PlanValidator.Validate(result.Plan, drifted, cluster, latency, NoInterference.Instance));
        Assert.DoesNotContain(result.Plan.Gpus.SelectMany(g => g.Gpulets).SelectMany(g => g.Models), a => a.Model == "m00");
    }
}
