namespace OrleansServe.Scheduler.UnitTests.Interference;

public sealed class PartialInterferenceTests
{
    private sealed class Fixed(double slowdown) : IInterferencePredictor
    {
        public double Slowdown(string model, int partition, string neighbour, int neighbourPartition) =>
            model == "no-latency" ? throw new UnknownModelException(model, ["a", "b"]) : slowdown;
    }

    [Fact]
    public void Pairs_of_known_models_get_the_inner_prediction()
    {
        var predictor = new PartialInterference(new Fixed(1.3), new HashSet<string> { "a", "b" });
        Assert.Equal(1.3, predictor.Slowdown("a", 50, "b", 50));
    }

    [Theory]
    [InlineData("a", "unknown")]
    [InlineData("unknown", "b")]
    [InlineData("no-latency", "a")]
    public void A_pair_with_a_model_it_cannot_describe_runs_as_if_alone(string model, string neighbour)
    {
        var predictor = new PartialInterference(new Fixed(1.3), new HashSet<string> { "a", "b", "no-latency" });
        Assert.Equal(1.0, predictor.Slowdown(model, 50, neighbour, 50));
    }
}
