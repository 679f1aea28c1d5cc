namespace OrleansServe.Simulator.UnitTests;

public class SimulationPoliciesTests
{
    [Fact]
    public void An_unregistered_policy_is_reported_as_not_available_in_this_build()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => SimulationPolicies.Get("no-such-policy"));

        Assert.StartsWith("policy 'no-such-policy' is not available in this build", error.Message);
    }

    [Fact]
    public void A_registered_planner_is_found_by_its_name()
    {
        var planner = new WholeGpuPlanner();
        SimulationPolicies.Register(planner);

        Assert.Same(planner, SimulationPolicies.Get("whole-gpu"));
        Assert.Contains("whole-gpu", SimulationPolicies.Names);
    }

    [Fact]
    public void The_products_planners_come_from_their_one_catalogue()
    {
        Assert.Subset(SimulationPolicies.Names.ToHashSet(), Scheduler.Planning.Planners.Names.ToHashSet());
        Assert.All(Scheduler.Planning.Planners.Names, name => Assert.Equal(name, SimulationPolicies.Get(name).Name));
    }
}
