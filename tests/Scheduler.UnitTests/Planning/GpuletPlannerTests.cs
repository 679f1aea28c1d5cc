namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class GpuletPlannerTests
{
    // Every model: L(b, p) = (c0 + b) · 100 / min(p, saturation); SLO 80 ms unless said.
    private static readonly AnalyticLatency Latency = new AnalyticLatency()
        .With("linear", 8, 1)
        .With("knee40", 8, 1, saturation: 40)
        .With("knee60", 8, 1, saturation: 60)
        .With("slow", 50, 1)
        .With("t1", 4, 1).With("t2", 4, 1).With("t3", 4, 1).With("t4", 4, 1);

    private static readonly GpuletPlanner Planner = new(Fixtures.Exact);

    [Fact]
    public void Rate_of_two_saturated_gpulets_and_a_bit_gets_two_whole_GPUs_and_a_residue_gpulet()
    {
        // Saturated at 100%: b = 32, L = 40 ms, 800 rps each. The last 100 rps fit first at 40%: b = 4, L = 30, duty 40.
        var demands = new[] { new ModelDemand(Fixtures.Model("linear", 80), 1700) };
        var cluster = Fixtures.Cluster(3);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.True(plan.IsComplete);
        Assert.Equal(3, plan.Gpus.Count);
        Assert.All(plan.Gpus.Take(2), g => Assert.Equal(new GpuletAssignment("linear", 32, 40, 40, 800), Assert.Single(Assert.Single(g.Gpulets).Models)));
        Assert.Equal([40, 60], plan.Gpus[2].Gpulets.Select(g => g.Partition));
        Assert.Equal(new GpuletAssignment("linear", 4, 40, 30, 100), Assert.Single(plan.Gpus[2].Gpulets[0].Models));
        Assert.Empty(plan.Gpus[2].Gpulets[1].Models);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Model_that_does_not_fit_whole_is_unscheduled_and_leaves_no_gpulets_behind()
    {
        var demands = new[] { new ModelDemand(Fixtures.Model("linear", 80), 1700) };
        var cluster = Fixtures.Cluster(2);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.Equal("no free gpulet, time share or GPU fits linear at 100 rps", plan.Unscheduled["linear"]);
        Assert.Empty(plan.Gpus);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Complementary_models_share_one_GPU_at_their_knees_60_and_40()
    {
        var demands = new[] { new ModelDemand(Fixtures.Model("knee40", 80), 200), new ModelDemand(Fixtures.Model("knee60", 80), 400) };
        var cluster = Fixtures.Cluster(2);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        var gpu = Assert.Single(plan.Gpus);
        Assert.Equal(60, gpu.Gpulets[0].Partition);
        Assert.Equal(new GpuletAssignment("knee60", 16, 40, 40, 400), Assert.Single(gpu.Gpulets[0].Models));
        Assert.Equal(40, gpu.Gpulets[1].Partition);
        Assert.Equal(new GpuletAssignment("knee40", 8, 40, 40, 200), Assert.Single(gpu.Gpulets[1].Models));
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Low_rate_models_share_one_gpulet_in_time_up_to_three_models()
    {
        // Batch 1 takes 5 ms; three models make a 15 ms round, so each is visited every 100 − 15 = 85 ms.
        var demands = new[] { "t1", "t2", "t3", "t4" }.Select(n => new ModelDemand(Fixtures.Model(n, 100), 10)).ToArray();
        var cluster = new ClusterSpec(1, 16 * Fixtures.GiB, [100]);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        var gpulet = Assert.Single(Assert.Single(plan.Gpus).Gpulets);
        Assert.Equal(["t1", "t2", "t3"], gpulet.Models.Select(a => a.Model));
        Assert.All(gpulet.Models, a => Assert.Equal(new GpuletAssignment(a.Model, 1, 85, 5, 10), a));
        Assert.Contains("t4", plan.Unscheduled["t4"]);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Time_sharing_is_refused_when_a_round_outlasts_a_residents_duty_cycle()
    {
        // "a": L(b) = b ms, 500 rps, SLO 200 → residue batch 32 every 64 ms (busy half the time). "b": 40 ms a batch,
        // 1 rps. Their busy shares sum to 0.54, but one round of both takes 72 ms, so "a" would get 32 per 72 ms
        // (444 rps): the round must fit in "a"'s duty cycle, and on one whole GPU "b" has nowhere else to go.
        var latency = new AnalyticLatency().With("a", 0, 1).With("b", 40, 0);
        var demands = new[] { new ModelDemand(Fixtures.Model("a", 200), 500), new ModelDemand(Fixtures.Model("b", 1000), 1) };
        var cluster = new ClusterSpec(1, 16 * Fixtures.GiB, [100]);

        var plan = Planner.Plan(demands, cluster, latency, NoInterference.Instance);

        Assert.Equal(["a"], plan.Gpus.SelectMany(g => g.Gpulets).SelectMany(g => g.Models).Select(m => m.Model));
        Assert.Contains("b", plan.Unscheduled.Keys);
    }

    [Fact]
    public void Model_with_SLO_below_its_batch_1_latency_is_unscheduled_with_the_reason()
    {
        var demands = new[] { new ModelDemand(Fixtures.Model("slow", 40), 10), new ModelDemand(Fixtures.Model("linear", 80), 100) };
        var cluster = Fixtures.Cluster(1);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.Equal("SLO 40 ms is below its batch-1 latency 51 ms on a whole GPU", plan.Unscheduled["slow"]);
        Assert.Single(plan.Unscheduled);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Memory_limit_sends_the_second_model_to_a_second_GPU()
    {
        var demands = new[]
        {
            new ModelDemand(Fixtures.Model("knee40", 80, memoryBytes: 6 * Fixtures.GiB), 200),
            new ModelDemand(Fixtures.Model("knee60", 80, memoryBytes: 6 * Fixtures.GiB), 400),
        };
        var cluster = Fixtures.Cluster(2, memoryBytes: 10 * Fixtures.GiB);

        var plan = Planner.Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.Equal(2, plan.Gpus.Count);
        Assert.Equal(["knee60"], plan.Gpus[0].Gpulets.SelectMany(g => g.Models).Select(a => a.Model));
        Assert.Equal(["knee40"], plan.Gpus[1].Gpulets.SelectMany(g => g.Models).Select(a => a.Model));
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    public void Framework_context_per_gpulet_counts_against_GPU_memory(int contextGiB, int gpus)
    {
        // 3 + 3 GiB of models on an 8 GiB GPU leave room for two gpulet contexts of 1 GiB, not of 2.
        var demands = new[]
        {
            new ModelDemand(Fixtures.Model("knee40", 80, memoryBytes: 3 * Fixtures.GiB), 200),
            new ModelDemand(Fixtures.Model("knee60", 80, memoryBytes: 3 * Fixtures.GiB), 400),
        };
        var cluster = Fixtures.Cluster(2, memoryBytes: 8 * Fixtures.GiB);
        var context = contextGiB * Fixtures.GiB;

        var plan = new GpuletPlanner(Fixtures.Exact with { GpuletContextBytes = context }).Plan(demands, cluster, Latency, NoInterference.Instance);

        Assert.Equal(gpus, plan.Gpus.Count);
        Assert.Empty(PlanValidator.Validate(plan, demands, cluster, Latency, NoInterference.Instance, gpuletContextBytes: context));
    }

    [Fact]
    public void Interference_that_breaks_an_SLO_moves_the_model_to_another_GPU()
    {
        // Beside knee60, knee40 slows 1.5×: 60 ms twice is over its 80 ms SLO, so the free 40% gpulet is refused.
        var interference = new TableInterference(new() { [("knee40", "knee60")] = 1.5 });
        var demands = new[] { new ModelDemand(Fixtures.Model("knee40", 80), 200), new ModelDemand(Fixtures.Model("knee60", 80), 400) };
        var cluster = Fixtures.Cluster(2);

        var plan = Planner.Plan(demands, cluster, Latency, interference);

        Assert.True(plan.IsComplete);
        Assert.Equal(2, plan.Gpus.Count);
        Assert.Equal(["knee40"], plan.Gpus[1].Gpulets.SelectMany(g => g.Models).Select(a => a.Model));
        Fixtures.AssertValid(plan, demands, cluster, Latency, interference);
    }

    [Fact]
    public void Interference_with_no_other_placement_fails_the_model_after_one_retry()
    {
        var interference = new TableInterference(new() { [("knee40", "knee60")] = 1.5 });
        var demands = new[] { new ModelDemand(Fixtures.Model("knee40", 80), 200), new ModelDemand(Fixtures.Model("knee60", 80), 400) };
        var cluster = Fixtures.Cluster(1);

        var plan = Planner.Plan(demands, cluster, Latency, interference);

        Assert.StartsWith("interference on GPU 0", plan.Unscheduled["knee40"]);
        Assert.DoesNotContain(plan.Gpus.SelectMany(g => g.Gpulets).SelectMany(g => g.Models), a => a.Model == "knee40");
        Fixtures.AssertValid(plan, demands, cluster, Latency, interference);
    }

    [Fact]
    public void Interference_costing_under_15_percent_of_the_rate_is_accepted()
    {
        // knee40 at 40% with a 300 ms SLO: b = 32, L = 100 ms, 320 rps. Beside knee60 it slows 1.1×: 110 ms batches
        // still meet the SLO and serve 291 rps, 91% of its rate: gpulet keeps such a placement.
        var interference = new TableInterference(new() { [("knee40", "knee60")] = 1.1 });
        var demands = new[] { new ModelDemand(Fixtures.Model("knee40", 300), 320), new ModelDemand(Fixtures.Model("knee60", 80), 400) };
        var cluster = Fixtures.Cluster(1);

        var plan = Planner.Plan(demands, cluster, Latency, interference);

        Assert.True(plan.IsComplete);
        var gpu = Assert.Single(plan.Gpus);
        Fixtures.AssertClose(new GpuletAssignment("knee40", 32, 110, 110, 320), Assert.Single(gpu.Gpulets[0].Models));
        Assert.Empty(PlanValidator.Validate(plan, demands, cluster, Latency, interference, minServedFraction: 0.85));
        Assert.Contains("does not sustain", Assert.Single(PlanValidator.Validate(plan, demands, cluster, Latency, interference)));
    }

    [Fact]
    public void Plan_is_the_same_for_the_same_input()
    {
        var demands = new[] { "t1", "t2", "t3" }.Select((n, i) => new ModelDemand(Fixtures.Model(n, 100), 10 + i))
            .Append(new ModelDemand(Fixtures.Model("linear", 80), 950)).ToArray();
        var cluster = Fixtures.Cluster(4);

        var first = PlanJson.Serialize(Planner.Plan(demands, cluster, Latency, NoInterference.Instance));
        var second = PlanJson.Serialize(Planner.Plan([.. demands.Reverse()], cluster, Latency, NoInterference.Instance));

        Assert.Equal(first, second);
    }

    [Fact]
    public void Default_margin_plans_with_latencies_ten_percent_longer()
    {
        var demands = new[] { new ModelDemand(Fixtures.Model("knee60", 80), 100) };
        var cluster = Fixtures.Cluster(1);

        var plan = new GpuletPlanner().Plan(demands, cluster, Latency, NoInterference.Instance);

        var a = Assert.Single(plan.Assignments("knee60"));
        Assert.Equal(Latency.LatencyMs("knee60", plan.Gpus[0].Gpulets[0].Partition, a.Batch) * 1.1, a.LatencyMs, 9);
        Fixtures.AssertValid(plan, demands, cluster, Latency);
    }

    [Fact]
    public void Two_demands_for_one_model_are_rejected()
    {
        var demands = new[] { new ModelDemand(Fixtures.Model("linear", 80), 10), new ModelDemand(Fixtures.Model("linear", 80), 20) };

        Assert.Throws<ArgumentException>(() => Planner.Plan(demands, Fixtures.Cluster(1), Latency, NoInterference.Instance));
    }
}
