using System.CommandLine;
using OrleansServe.Cli.Benchmarks;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>profile --device cpu [--models ...] [--partitions 50,100] [--batches 1,2,4,8] [--repeats N] [--cores N] --csv OUT.csv</c>:
/// fills the scheduler's profile table by measurement. The CPU device is split into one gpulet of each share in
/// turn (share × cores intra-op threads), and each model's warm batch latency is timed through the device at every
/// batch size; the rows are written as profile-table CSV (source "measured", device "cpu-&lt;cores&gt;c"). The GPU
/// counterpart is <c>swap-bench --measure share</c>.
/// </summary>
public static class ProfileCommand
{
    /// <param name="output">Where progress goes (standard output by default); errors go to standard error.</param>
    public static Command Create(TextWriter? output = null)
    {
        var device = new Option<string>("--device") { Description = "Device to profile (cpu; a GPU is profiled with swap-bench --measure share)", DefaultValueFactory = _ => "cpu" };
        device.AcceptOnlyFromAmong("cpu");
        var grid = new ProfileGridOptions("Compute shares in percent", "Batch sizes", "1,2,4,8");
        var csv = new Option<FileInfo>("--csv") { Description = "Write the profile table here", Required = true };
        var command = new Command("profile", "Measure latency by compute share and batch on a device and write a profile-table CSV") { device };
        grid.AddTo(command);
        command.Add(csv);
        command.SetAction(parse =>
        {
            var writer = output ?? Console.Out;
            try
            {
                var settings = grid.Parse(parse);
                if (settings.Models.Length == 0)
                {
                    throw new ArgumentException("no model given");
                }
                using var bench = CpuBench.Start(settings.Models, settings.Cores);
                var table = MeasureAsync(bench, settings, writer).GetAwaiter().GetResult();
                var file = parse.GetRequiredValue(csv);
                file.Directory?.Create();
                File.WriteAllText(file.FullName, table.ToCsv());
                writer.WriteLine($"{table.Rows.Count} rows written to {file.FullName}");
                return 0;
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>What to measure.</summary>
    public sealed record Settings(string[] Models, int[] Partitions, int[] Batches, int Repeats, int Cores);

    /// <summary>Measures every model at every share and batch on the bench's device.</summary>
    public static async Task<ProfileTable> MeasureAsync(CpuBench bench, Settings settings, TextWriter progress)
    {
        var rows = await bench.ShareAsync(settings.Partitions, settings.Batches, settings.Repeats, () => true,
            r => progress.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{r.Model} {r.Partition}% batch {r.Batch}: {r.LatencyMs:0.000} ms")));
        return new ProfileTable(rows);
    }
}
