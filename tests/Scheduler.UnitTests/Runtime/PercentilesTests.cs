namespace OrleansServe.Scheduler.UnitTests.Runtime;

public sealed class PercentilesTests
{
    private static readonly double[] OneToTen = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

    [Theory]
    [InlineData(0.5, 5)]
    [InlineData(0.9, 9)]
    [InlineData(0.99, 10)]
    [InlineData(1.0, 10)]
    [InlineData(0.01, 1)]
    public void Nearest_rank_is_the_smallest_value_with_that_share_of_the_sample_at_or_below_it(double p, double expected)
    {
        Assert.Equal(expected, Percentiles.NearestRank(OneToTen, p));
    }

    [Fact]
    public void An_empty_sample_has_no_percentile_and_a_quantile_outside_zero_to_one_is_refused()
    {
        Assert.True(double.IsNaN(Percentiles.NearestRank([], 0.5)));
        Assert.True(double.IsNaN(Percentiles.Median([])));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank(OneToTen, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentiles.NearestRank(OneToTen, 1.5));
    }

    [Fact]
    public void The_median_of_an_even_sample_is_the_mean_of_its_middle_values_whatever_the_order()
    {
        Assert.Equal(5.5, Percentiles.Median([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]));
        Assert.Equal(2, Percentiles.Median([3, 1, 2]));
    }
}
