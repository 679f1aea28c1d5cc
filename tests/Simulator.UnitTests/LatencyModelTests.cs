using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Simulator.UnitTests;

public class LatencyModelTests
{
    private static readonly string[] Profile =
    [
        "model,partition,batch,latency_ms",
        "resnet50,50,1,4",
        "resnet50,50,4,10",
        "resnet50,100,1,2",
        "resnet50,100,4,5",
    ];

    [Fact]
    public void Profile_table_returns_profiled_points_and_interpolates_batches()
    {
        var model = ProfileTable.FromCsv(string.Join('\n', Profile));

        Assert.Equal(4, model.LatencyMs("resnet50", 50, 1));
        Assert.Equal(6, model.LatencyMs("resnet50", 50, 2));
        Assert.Equal(12, model.LatencyMs("resnet50", 50, 5));
    }

    [Fact]
    public void Profile_table_interpolates_partitions_and_scales_below_the_smallest()
    {
        var model = ProfileTable.FromCsv(string.Join('\n', Profile));

        // Throughput is interpolated between shares, so latency is the harmonic blend: 1 / (0.5/4 + 0.5/2).
        Assert.Equal(8.0 / 3, model.LatencyMs("resnet50", 75, 1), 9);
        Assert.Equal(8, model.LatencyMs("resnet50", 25, 1));
        Assert.Equal(2, new ByArchitectureLatency(model).LatencyMs("resnet50#9", 100, 1));
    }

    [Fact]
    public void Profile_table_rejects_a_malformed_row_with_its_line_number()
    {
        var error = Assert.Throws<ProfileFormatException>(() => ProfileTable.FromCsv(string.Join('\n', [.. Profile, "resnet50,x,1,2"])));

        Assert.Contains("6", error.Message);
    }

    [Fact]
    public void Analytic_stand_in_is_slower_on_a_smaller_share_and_a_larger_batch()
    {
        var model = new AnalyticLatencyModel();

        Assert.True(model.LatencyMs("resnet50", 50, 8) > model.LatencyMs("resnet50", 100, 8));
        Assert.True(model.LatencyMs("resnet50", 100, 16) > model.LatencyMs("resnet50", 100, 8));
        Assert.Equal(model.LatencyMs("vgg16", 100, 4), model.LatencyMs("vgg16#2", 100, 4));
    }
}
