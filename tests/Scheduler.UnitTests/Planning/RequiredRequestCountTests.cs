namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class RequiredRequestCountTests
{
    [Theory]
    [InlineData(0.98, 100, 97, 50)]
    [InlineData(0.98, 100, 98, 0)]
    [InlineData(0.99, 200, 199, -100)]
    [InlineData(0.5, 10, 0, 10)]
    public void Counts_the_in_time_requests_needed_to_reach_the_SLO_percentile(double p, long n, long m, double expected)
    {
        Assert.Equal(expected, RequiredRequestCount.Compute(p, n, m), 9);
    }

    [Fact]
    public void Model_further_behind_its_SLO_gets_a_higher_count()
    {
        Assert.True(RequiredRequestCount.Compute(0.98, 100, 90) > RequiredRequestCount.Compute(0.98, 100, 97));
    }

    [Theory]
    [InlineData(1.0, 10, 5)]
    [InlineData(0.0, 10, 5)]
    [InlineData(0.9, 10, 11)]
    [InlineData(0.9, -1, 0)]
    public void Rejects_a_percentile_outside_zero_to_one_or_more_served_than_requested(double p, long n, long m)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RequiredRequestCount.Compute(p, n, m));
    }
}
