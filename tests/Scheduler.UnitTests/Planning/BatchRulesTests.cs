namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class BatchRulesTests
{
    // L(b, p) = (8 + b) · 100 / p: at 50% a batch of 12 takes 40 ms, the most that fits twice in an 80 ms SLO.
    private static readonly AnalyticLatency Latency = new AnalyticLatency()
        .With("linear", 8, 1)
        .With("knee40", 8, 1, saturation: 40)
        .With("knee60", 8, 1, saturation: 60);

    private static readonly BatchRules Rules = new(Latency, Fixtures.Exact);

    [Fact]
    public void Saturated_batch_is_the_largest_whose_latency_fits_twice_in_the_SLO()
    {
        var choice = Rules.Saturated(Fixtures.Model("linear", 80), 50);

        Assert.Equal(new BatchChoice(12, 40, 40, 300), choice);
    }

    [Fact]
    public void Saturated_batch_is_capped_at_32()
    {
        var choice = Rules.Saturated(Fixtures.Model("linear", 1000), 100);

        Assert.Equal(32, choice!.Value.Batch);
    }

    [Fact]
    public void Residue_batch_is_the_largest_whose_latency_plus_fill_time_meets_the_SLO()
    {
        // At 40%: L(b) = 20 + 2.5b; 100 rps fills b in 10b ms; 20 + 12.5b ≤ 80 gives b = 4, L = 30, duty 40.
        var choice = Rules.Residue(Fixtures.Model("linear", 80), 40, 100);

        Assert.Equal(new BatchChoice(4, 30, 40, 100), choice);
    }

    [Fact]
    public void Residue_is_refused_where_the_gpulet_cannot_keep_up_with_the_rate()
    {
        // At 20%: L(b) = 40 + 5b is longer than the 10b ms it takes 100 rps to fill any batch that meets the SLO.
        Assert.Null(Rules.Residue(Fixtures.Model("linear", 80), 20, 100));
    }

    [Fact]
    public void Rare_model_is_visited_every_SLO_minus_its_batch_1_latency()
    {
        var choice = Rules.Residue(Fixtures.Model("linear", 80), 100, 1);

        Assert.Equal(new BatchChoice(1, 9, 71, 1), choice);
    }

    [Fact]
    public void Latency_carries_the_margin_and_the_batching_overhead()
    {
        var rules = new BatchRules(Latency, new PlannerOptions { LatencyMargin = 1.1, BatchingOverheadMs = 0.5 });

        Assert.Equal((9 * 1.1) + 0.5, rules.LatencyMs("linear", 100, 1), 9);
    }

    [Theory]
    [InlineData("knee40", 40)]
    [InlineData("knee60", 60)]
    [InlineData("linear", 100)]
    public void Ideal_partition_is_the_knee_of_throughput_against_SM_share(string model, int ideal)
    {
        Assert.Equal(ideal, Rules.IdealPartition(Fixtures.Model(model, 80), ClusterSpec.GpuletPartitions));
    }

    [Fact]
    public void Ideal_partition_prefers_the_steepest_gain_over_a_flattening_curve()
    {
        // Throughput 200, 300, 330, 345, 360 rps from 40% up: the jump to 50% is the largest per percent.
        var latency = new TableLatency(new() { [40] = 40, [50] = 40 * 200.0 / 300, [60] = 40 * 200.0 / 330, [80] = 40 * 200.0 / 345, [100] = 40 * 200.0 / 360 });
        var rules = new BatchRules(latency, Fixtures.Exact with { MaxBatch = 8 });

        Assert.Equal(50, rules.IdealPartition(Fixtures.Model("m", 80), ClusterSpec.GpuletPartitions));
    }

    [Fact]
    public void No_ideal_partition_when_the_SLO_is_below_batch_1_latency()
    {
        Assert.Null(Rules.IdealPartition(Fixtures.Model("linear", 10), ClusterSpec.GpuletPartitions));
    }

    /// <summary>Batch-8 latency per partition; infeasible (SLO-breaking) elsewhere.</summary>
    private sealed class TableLatency(Dictionary<int, double> batch8) : ILatencyModel
    {
        public double LatencyMs(string model, int partition, int batch) =>
            batch8.TryGetValue(partition, out var l) ? l * batch / 8.0 : 1e6;
    }
}
