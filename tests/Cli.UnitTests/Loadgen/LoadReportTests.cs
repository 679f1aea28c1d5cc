using System.Text.Json;

namespace OrleansServe.Cli.UnitTests.Loadgen;

public sealed class LoadReportTests
{
    private static RunResult Run(string mode, int concurrency, double rps) =>
        new(mode, concurrency, null, 10, (long)(rps * 10), 0, new Dictionary<string, long>(), 0, rps, rps * 4, 1, 2, 3, 4, null);

    private static readonly LoadReport Report = new(
        new MachineInfo(2, "Linux", ".NET 10", "test cpu"), DateTimeOffset.UnixEpoch, "http://127.0.0.1:8000/", "mlp", 4,
        [Run("server", 1, 500), Run("server", 8, 900), Run("direct", 1, 1000), Run("direct", 8, 3000), Run("direct", 32, 3000)]);

    [Fact]
    public void Ratios_pair_server_and_direct_runs_of_the_same_concurrency()
    {
        Assert.Equal([new ThroughputRatio(1, 0.5), new ThroughputRatio(8, 0.3)], Report.Ratios);
    }

    [Fact]
    public void Json_report_uses_the_documented_snake_case_fields()
    {
        using var json = JsonDocument.Parse(Report.ToJson());
        var root = json.RootElement;

        Assert.Equal(2, root.GetProperty("machine").GetProperty("cores").GetInt32());
        Assert.Equal("test cpu", root.GetProperty("machine").GetProperty("cpu").GetString());
        Assert.Equal("mlp", root.GetProperty("model").GetString());
        Assert.Equal(4, root.GetProperty("batch").GetInt32());
        var run = root.GetProperty("runs")[0];
        foreach (var field in new[] { "mode", "concurrency", "duration_s", "requests", "errors", "throughput_rps", "inferences_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms" })
        {
            Assert.True(run.TryGetProperty(field, out _), $"run lacks {field}");
        }
        var ratio = root.GetProperty("ratios")[1];
        Assert.Equal(8, ratio.GetProperty("concurrency").GetInt32());
        Assert.Equal(0.3, ratio.GetProperty("server_over_direct").GetDouble());
    }
}
