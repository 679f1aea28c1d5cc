namespace OrleansServe.Scheduler.UnitTests.Planning;

public sealed class PlannersTests
{
    [Fact]
    public void Every_name_in_the_catalogue_makes_the_planner_of_that_name()
    {
        Assert.Equal(Planners.Names, Planners.All.Select(p => p.Name));
    }

    [Fact]
    public void An_unknown_name_is_refused_listing_the_planners()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => Planners.Create("fifo"));

        Assert.Equal("no planner is named 'fifo' (planners: gpulet, temporal, swap, orleansserve)", error.Message);
    }
}
