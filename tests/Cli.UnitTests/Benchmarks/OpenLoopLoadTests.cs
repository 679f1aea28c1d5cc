namespace OrleansServe.Cli.UnitTests.Benchmarks;

public sealed class OpenLoopLoadTests
{
    [Fact]
    public async Task Every_request_sent_is_counted_once_as_within_slo_late_or_dropped()
    {
        using var bench = CpuBench.Start(["tabular_mlp", "mlp"], 2);
        await bench.Device.RepartitionAsync([new PartitionSpec(50, ["tabular_mlp"]), new PartitionSpec(50, ["mlp"])]);
        LoadStream[] streams = [new("tabular_mlp", 300, 1000, 4), new("mlp", 200, 1000, 8, Lanes: 1)];

        var outcome = await OpenLoopLoad.RunAsync(bench.Device, bench.InputsFor, streams, 0.3, 5, TimeSpan.FromSeconds(30));

        Assert.Equal(2, outcome.Streams.Count);
        Assert.All(outcome.Streams, s =>
        {
            Assert.True(s.Sent > 0);
            Assert.Equal(s.Sent, s.Accounted);
            Assert.Equal(0, s.Failed);
            Assert.Equal(0, s.Unfinished);
            Assert.InRange(s.MeanBatch, 1, s.MaxBatch);
        });
        Assert.Equal(OpenLoopLoad.Arrivals(streams, 0.3, 5).Length, outcome.Sent);
    }

    [Fact]
    public async Task Requests_a_device_refuses_are_counted_as_failed_not_lost()
    {
        using var bench = CpuBench.Start(["tabular_mlp"], 1);
        // A model the device's weight store does not hold: every batch throws.
        LoadStream[] streams = [new("tabular_mlp", 300, 1000, 2)];

        var outcome = await OpenLoopLoad.RunAsync(bench.Device, (_, _) => ([], ["no_such_output"]), streams, 0.2, 3, TimeSpan.FromSeconds(30));

        var stream = Assert.Single(outcome.Streams);
        Assert.True(stream.Sent > 0);
        Assert.Equal(stream.Sent, stream.Failed);
        Assert.Equal(stream.Sent, stream.Accounted);
        Assert.Equal(0, outcome.SloAttainment);
    }

    [Fact]
    public void Arrivals_are_in_time_order_within_the_run_and_the_same_for_the_same_seed()
    {
        LoadStream[] streams = [new("a", 500, 10, 1), new("b", 100, 10, 1), new("idle", 0, 10, 1)];

        var first = OpenLoopLoad.Arrivals(streams, 2, 9);
        var again = OpenLoopLoad.Arrivals(streams, 2, 9);
        var other = OpenLoopLoad.Arrivals(streams, 2, 10);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.All(first.Zip(first.Skip(1)), pair => Assert.True(pair.First.TimeMs <= pair.Second.TimeMs));
        Assert.All(first, a => Assert.InRange(a.TimeMs, 0, 2000));
        Assert.DoesNotContain(first, a => a.Stream == 2);
        // 1000 and 200 expected; Poisson counts stay well within these bounds.
        Assert.InRange(first.Count(a => a.Stream == 0), 800, 1200);
        Assert.InRange(first.Count(a => a.Stream == 1), 130, 270);
    }
}
