namespace OrleansServe.Cli.UnitTests.Loadgen;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Nearest_rank_percentiles_of_small_values_are_exact()
    {
        var histogram = new LatencyHistogram();
        // Recorded out of order on purpose: the histogram, not the caller, sorts.
        for (var value = 100; value >= 1; value--)
        {
            histogram.Record(value);
        }

        Assert.Equal(100, histogram.Count);
        Assert.Equal(50, histogram.ValueAtPercentile(50));
        Assert.Equal(90, histogram.ValueAtPercentile(90));
        Assert.Equal(99, histogram.ValueAtPercentile(99));
        Assert.Equal(100, histogram.ValueAtPercentile(100));
        Assert.Equal(100, histogram.MaxNs);
    }

    [Fact]
    public void Percentile_rank_rounds_up_so_p99_of_ten_values_is_the_largest()
    {
        var histogram = new LatencyHistogram();
        for (var value = 1; value <= 10; value++)
        {
            histogram.Record(value * 10);
        }

        Assert.Equal(50, histogram.ValueAtPercentile(50));
        Assert.Equal(100, histogram.ValueAtPercentile(99));
        Assert.Equal(10, histogram.ValueAtPercentile(0.1));
    }

    [Theory]
    [InlineData(1_500L)]
    [InlineData(737_123L)]
    [InlineData(12_345_678L)]
    [InlineData(3_000_000_000L)]
    public void Large_values_are_reported_within_a_tenth_of_a_percent_and_never_below_themselves(long nanoseconds)
    {
        var histogram = new LatencyHistogram();
        histogram.Record(nanoseconds);
        histogram.Record(nanoseconds * 4);

        var p50 = histogram.ValueAtPercentile(50);

        Assert.InRange(p50, nanoseconds, nanoseconds + (nanoseconds / 1000));
        Assert.Equal(nanoseconds * 4, histogram.ValueAtPercentile(100));
    }

    [Fact]
    public void Percentiles_never_exceed_the_exact_maximum()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1_000_001);

        Assert.Equal(1_000_001, histogram.ValueAtPercentile(50));
        Assert.Equal(1_000_001, histogram.MaxNs);
    }

    [Fact]
    public void An_empty_histogram_reports_zero()
    {
        var histogram = new LatencyHistogram();

        Assert.Equal(0, histogram.ValueAtPercentile(99));
        Assert.Equal(0, histogram.MaxNs);
    }

    [Fact]
    public void Out_of_range_values_are_clamped_instead_of_throwing()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(-5);
        histogram.Record(long.MaxValue);

        Assert.Equal(0, histogram.ValueAtPercentile(50));
        Assert.Equal(LatencyHistogram.MaxTrackableNs, histogram.MaxNs);
    }

    [Fact]
    public void Merged_workers_give_the_percentiles_of_all_their_values()
    {
        var even = new LatencyHistogram();
        var odd = new LatencyHistogram();
        for (var value = 1; value <= 100; value++)
        {
            (value % 2 == 0 ? even : odd).Record(value);
        }

        var all = new LatencyHistogram();
        all.Add(even);
        all.Add(odd);

        Assert.Equal(100, all.Count);
        Assert.Equal(50, all.ValueAtPercentile(50));
        Assert.Equal(99, all.ValueAtPercentile(99));
        Assert.Equal(100, all.MaxNs);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100.5)]
    [InlineData(double.NaN)]
    public void Percentiles_outside_zero_to_one_hundred_are_refused(double percentile)
    {
        var histogram = new LatencyHistogram();
        histogram.Record(1);

        Assert.Throws<ArgumentOutOfRangeException>(() => histogram.ValueAtPercentile(percentile));
    }
}
