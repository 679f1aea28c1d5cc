using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace OrleansServe.Cli.Loadgen;

/// <summary>The machine a run was measured on.</summary>
public sealed record MachineInfo(int Cores, string Os, string Dotnet, string Cpu)
{
    /// <summary>This machine; the CPU model comes from /proc/cpuinfo where there is one.</summary>
    public static MachineInfo Current()
    {
        var cpu = RuntimeInformation.ProcessArchitecture.ToString();
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
                if (line?.IndexOf(':') is int colon and >= 0)
                {
                    cpu = line[(colon + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
            // Keep the architecture as the description.
        }
        return new MachineInfo(Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, cpu);
    }
}

/// <summary>Server throughput over direct throughput at one concurrency.</summary>
public sealed record ThroughputRatio(int Concurrency, double ServerOverDirect);

/// <summary>Everything one loadgen invocation measured; what --json writes.</summary>
public sealed record LoadReport(MachineInfo Machine, DateTimeOffset Date, string Url, string Model, int Batch, IReadOnlyList<RunResult> Runs)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>For each concurrency with both a server and a direct run, server req/s over direct req/s.</summary>
    public IReadOnlyList<ThroughputRatio> Ratios =>
        [.. Runs.Where(r => r.Mode == "server" && r.RateRps is null)
            .Join(Runs.Where(r => r.Mode == "direct"), s => s.Concurrency, d => d.Concurrency, (s, d) => (s, d))
            .Where(pair => pair.d.ThroughputRps > 0)
            .Select(pair => new ThroughputRatio(pair.s.Concurrency, Math.Round(pair.s.ThroughputRps / pair.d.ThroughputRps, 3)))];

    /// <summary>The report as indented snake_case JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>The results table.</summary>
    public Table ToTable()
    {
        var ratios = Ratios.ToDictionary(r => r.Concurrency, r => r.ServerOverDirect);
        var rate = Runs.Any(r => r.RateRps is not null);
        var table = new Table().AddColumns("mode", "model", "batch", rate ? "rate (max out)" : "concurrency", "requests", "errors");
        if (rate)
        {
            table.AddColumn("dropped");
        }
        table.AddColumns("req/s", "inf/s", "p50 ms", "p90 ms", "p99 ms", "max ms");
        if (ratios.Count > 0)
        {
            table.AddColumn("server/direct");
        }
        for (var i = 2; i < table.Columns.Count; i++)
        {
            table.Columns[i].RightAligned();
        }
        foreach (var run in Runs)
        {
            var cells = new List<string>
            {
                run.Mode,
                Markup.Escape(Model),
                Batch.ToString(CultureInfo.InvariantCulture),
                run.RateRps is double r ? $"{r:0.##}/s ({run.Concurrency})" : run.Concurrency.ToString(CultureInfo.InvariantCulture),
                run.Requests.ToString("N0", CultureInfo.InvariantCulture),
                run.Errors == 0 ? "0" : $"[red]{run.Errors:N0}[/]",
            };
            if (rate)
            {
                cells.Add(run.Dropped.ToString("N0", CultureInfo.InvariantCulture));
            }
            cells.AddRange(
            [
                run.ThroughputRps.ToString("N1", CultureInfo.InvariantCulture),
                run.InferencesPerS.ToString("N1", CultureInfo.InvariantCulture),
                Ms(run.P50Ms), Ms(run.P90Ms), Ms(run.P99Ms), Ms(run.MaxMs),
            ]);
            if (ratios.Count > 0)
            {
                cells.Add(run.Mode == "server" && ratios.TryGetValue(run.Concurrency, out var ratio) ? ratio.ToString("0.000", CultureInfo.InvariantCulture) : "");
            }
            table.AddRow([.. cells]);
        }
        return table;
    }

    private static string Ms(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);
}
