using System.Text.Json;

namespace OrleansServe.Scheduler.UnitTests.Profiles;

public sealed class ProfileTableTests
{
    private static ProfileTable Table(params (int Partition, int Batch, double Ms)[] points) =>
        new(points.Select(p => new ProfileRow("m", p.Partition, p.Batch, p.Ms)));

    [Fact]
    public void Returns_the_profiled_latency_at_a_profiled_point()
    {
        var table = Table((100, 1, 2.0), (100, 2, 3.0), (50, 1, 3.5));
        Assert.Equal(3.0, table.LatencyMs("m", 100, 2));
        Assert.Equal(3.5, table.LatencyMs("m", 50, 1));
    }

    [Fact]
    public void Interpolates_linearly_in_batch_between_profiled_batches()
    {
        var table = Table((100, 4, 10.0), (100, 8, 18.0));
        Assert.Equal(14.0, table.LatencyMs("m", 100, 6), 9);
        Assert.Equal(12.0, table.LatencyMs("m", 100, 5), 9);
    }

    [Fact]
    public void Extrapolates_beyond_the_largest_batch_along_the_last_two_points()
    {
        var table = Table((100, 1, 1.0), (100, 16, 10.0), (100, 32, 18.0));
        Assert.Equal(26.0, table.LatencyMs("m", 100, 48), 9);
    }

    [Fact]
    public void Never_extrapolates_below_the_smallest_batch_latency()
    {
        // A noisy profile whose last two points slope downwards.
        var table = Table((100, 1, 5.0), (100, 16, 6.0), (100, 32, 5.5));
        Assert.Equal(5.0, table.LatencyMs("m", 100, 200), 9);
    }

    [Fact]
    public void Uses_the_smallest_profiled_batch_latency_below_it()
    {
        var table = Table((100, 4, 8.0), (100, 8, 12.0));
        Assert.Equal(8.0, table.LatencyMs("m", 100, 1));
    }

    [Fact]
    public void Interpolates_throughput_between_profiled_partitions_so_compute_bound_latency_stays_inverse_to_share()
    {
        // L = 100 / p: compute-bound; harmonic interpolation reproduces it exactly at 30%.
        var table = Table((20, 1, 5.0), (40, 1, 2.5));
        Assert.Equal(100.0 / 30, table.LatencyMs("m", 30, 1), 9);
        var flat = Table((20, 1, 4.0), (40, 1, 4.0));
        Assert.Equal(4.0, flat.LatencyMs("m", 30, 1), 9);
    }

    [Fact]
    public void Scales_latency_up_below_the_smallest_partition_and_keeps_it_above_the_largest()
    {
        var table = Table((20, 1, 5.0), (60, 1, 2.0));
        Assert.Equal(10.0, table.LatencyMs("m", 10, 1), 9);
        Assert.Equal(2.0, table.LatencyMs("m", 80, 1), 9);
    }

    [Fact]
    public void Interpolates_in_batch_and_partition_together()
    {
        var table = Table((20, 1, 4.0), (20, 3, 8.0), (40, 1, 2.0), (40, 3, 4.0));
        // Batch 2: 6 ms at 20%, 3 ms at 40%; throughput-wise at 30%: 1 / (0.5/6 + 0.5/3) = 4.
        Assert.Equal(4.0, table.LatencyMs("m", 30, 2), 9);
    }

    [Fact]
    public void An_unknown_model_is_refused_naming_it_and_the_known_ones()
    {
        var table = Table((100, 1, 1.0));
        var error = Assert.Throws<UnknownModelException>(() => table.LatencyMs("bert", 100, 1));
        Assert.Equal("bert", error.Model);
        Assert.Contains("'bert'", error.Message);
        Assert.Contains("m", error.Message);
    }

    [Fact]
    public void Refuses_a_partition_outside_1_to_100_and_a_batch_below_1()
    {
        var table = Table((100, 1, 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.LatencyMs("m", 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.LatencyMs("m", 101, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => table.LatencyMs("m", 50, 0));
    }

    [Fact]
    public void Refuses_duplicate_and_invalid_rows()
    {
        Assert.Throws<ArgumentException>(() => Table((100, 1, 1.0), (100, 1, 2.0)));
        Assert.Throws<ArgumentException>(() => Table((100, 1, -1.0)));
        Assert.Throws<ArgumentException>(() => Table((100, 1, double.NaN)));
    }

    [Fact]
    public void Later_rows_replace_earlier_ones_with_the_same_key()
    {
        var table = new ProfileTable([new ProfileRow("m", 100, 1, 1.0, "h100", ProfileSource.Roofline), new ProfileRow("m", 100, 2, 1.5, "h100", ProfileSource.Roofline)]);
        var measured = table.With([new ProfileRow("m", 100, 1, 1.2, "h100", ProfileSource.Measured)]);
        Assert.Equal(1.2, measured.LatencyMs("m", 100, 1));
        Assert.Equal(2, measured.Rows.Count);
        Assert.Equal([ProfileSource.Measured, ProfileSource.Roofline], measured.SourcesOf("m"));
        Assert.Equal([ProfileSource.Roofline], table.SourcesOf("m"));
    }

    [Fact]
    public void A_table_of_several_devices_must_be_asked_for_one()
    {
        var table = new ProfileTable([new ProfileRow("m", 100, 1, 1.0, "h100"), new ProfileRow("m", 100, 1, 4.0, "v100")]);
        Assert.Throws<InvalidOperationException>(() => table.LatencyMs("m", 100, 1));
        Assert.Equal(4.0, table.LatencyMs("v100", "m", 100, 1));
        Assert.Equal(1.0, table.ForDevice("h100").LatencyMs("m", 100, 1));
        Assert.Throws<UnknownModelException>(() => table.LatencyMs("a100", "m", 100, 1));
    }

    [Fact]
    public void Csv_round_trip_keeps_rows_devices_and_sources()
    {
        var table = new ProfileTable(
        [
            new ProfileRow("resnet50", 50, 8, 5.9125, "h100-sxm", ProfileSource.Roofline),
            new ProfileRow("resnet50", 100, 8, 4.28, "h100-sxm", ProfileSource.Measured),
            new ProfileRow("bert_base", 100, 1, 8.3, "v100", ProfileSource.Published),
        ]);
        var csv = table.ToCsv();
        Assert.StartsWith("model,partition,batch,latency_ms,device,source\n", csv);
        var back = ProfileTable.FromCsv(csv);
        Assert.Equal(table.Rows.ToHashSet(), back.Rows.ToHashSet());
    }

    [Fact]
    public void Csv_with_only_the_required_columns_takes_the_default_device_and_source()
    {
        var table = ProfileTable.FromCsv("model,partition,batch,latency_ms\r\nresnet50,100,1,2.5\r\n\r\nresnet50,100,2,3\r\n", "rtx2080ti", ProfileSource.Published);
        Assert.All(table.Rows, r => Assert.Equal(("rtx2080ti", ProfileSource.Published), (r.Device, r.Source)));
        Assert.Equal(2.5, table.LatencyMs("resnet50", 100, 1));
    }

    [Fact]
    public void Csv_columns_may_come_in_any_order()
    {
        var table = ProfileTable.FromCsv("source,batch,model,latency_ms,partition,device\nmeasured,4,lenet5,0.5,20,h100\n");
        Assert.Equal(new ProfileRow("lenet5", 20, 4, 0.5, "h100", ProfileSource.Measured), Assert.Single(table.Rows));
    }

    [Fact]
    public void Csv_import_lists_every_invalid_line_with_its_number()
    {
        var csv = string.Join('\n',
            "model,partition,batch,latency_ms,source",
            "resnet50,100,1,2.5,measured",
            "resnet50,abc,2,3,measured",
            "resnet50,100,0,3,measured",
            "resnet50,100,4,-1,measured",
            "resnet50,100,1,2.6,measured",
            "resnet50,100,8,4,guessed",
            "resnet50,100,16",
            "resnet50,120,32,9,roofline");
        var error = Assert.Throws<ProfileFormatException>(() => ProfileTable.FromCsv(csv));
        Assert.Equal([3, 4, 5, 6, 7, 8, 9], error.Errors.Select(e => e.Line));
        Assert.Contains("duplicate of line 2", error.Errors.Single(e => e.Line == 6).Message);
        Assert.Contains("line 7:", error.Message);
    }

    [Fact]
    public void Csv_import_refuses_unknown_and_missing_columns()
    {
        var error = Assert.Throws<ProfileFormatException>(() => ProfileTable.FromCsv("model,batch,latency_ms,gpu\nx,1,1,a\n"));
        Assert.All(error.Errors, e => Assert.Equal(1, e.Line));
        Assert.Contains(error.Errors, e => e.Message.Contains("'gpu'"));
        Assert.Contains(error.Errors, e => e.Message.Contains("missing column 'partition'"));
    }

    [Fact]
    public void Json_is_a_plain_list_of_rows_that_reads_back()
    {
        var table = new ProfileTable([new ProfileRow("m", 40, 2, 1.25, "h100-sxm", ProfileSource.Roofline)]);
        var json = table.ToJson();
        using var document = JsonDocument.Parse(json);
        var row = Assert.Single(document.RootElement.EnumerateArray());
        Assert.Equal("roofline", row.GetProperty("source").GetString());
        Assert.Equal(40, row.GetProperty("partition").GetInt32());
        Assert.Equal(table.Rows, ProfileTable.FromJson(json).Rows);
    }

    [Fact]
    public void Lists_profiled_partitions_and_batches()
    {
        var table = Table((50, 4, 1.0), (20, 1, 1.0), (50, 1, 1.0));
        Assert.Equal([20, 50], table.PartitionsOf("m"));
        Assert.Equal([1, 4], table.BatchesOf("m", 50));
        Assert.Empty(table.BatchesOf("m", 60));
        Assert.Throws<UnknownModelException>(() => table.SourcesOf("x"));
    }
}
