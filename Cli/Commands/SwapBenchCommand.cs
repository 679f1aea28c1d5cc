using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using OrleansServe.Cli.Benchmarks;
using OrleansServe.Cli.Inference;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Onnx;
using OrleansServe.Scheduler.Profiles;
using Spectre.Console;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>swap-bench --device cuda --models resnet50,bert_base --json swap.json --csv-dir out/</c>: the swapping and
/// gpulet measurements of a device: host-to-device bandwidth by transfer size (pageable against pinned), swap-in
/// time per model against bytes ÷ bandwidth, cold-start latency (pipelined, transfer-then-run, warm), latency by SM
/// share and batch (a profile table CSV) and pairwise slowdown on complementary gpulets (a CSV). JSON is saved after
/// each part, so a run stopped from outside keeps what it measured.
/// </summary>
public static class SwapBenchCommand
{
    private static readonly string[] AllParts = ["bandwidth", "swapin", "coldstart", "share", "pairs", "green"];

    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "cuda or ilgpu-cpu", DefaultValueFactory = _ => "cuda" };
        device.AcceptOnlyFromAmong("cuda", "ilgpu-cpu");
        var measure = new Option<string>("--measure") { Description = $"Comma-separated parts: {string.Join(", ", AllParts)}", DefaultValueFactory = _ => string.Join(',', AllParts) };
        var models = new Option<string>("--models") { Description = "Comma-separated .onnx files or zoo model names", DefaultValueFactory = _ => "resnet50,lenet5" };
        var sizes = new Option<string?>("--sizes") { Description = "Transfer sizes in bytes for bandwidth (default 64 KiB to 256 MiB)" };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions per point", DefaultValueFactory = _ => 10 };
        var batches = new Option<string>("--batches") { Description = "Batch sizes for the share part", DefaultValueFactory = _ => "1,2,4,8,16,32" };
        var partitions = new Option<string>("--partitions") { Description = "SM shares for the share part", DefaultValueFactory = _ => "20,40,50,60,80,100" };
        var splits = new Option<string>("--pair-splits") { Description = "Complementary gpulet pairs for the pairs part, e.g. 50:50,40:60", DefaultValueFactory = _ => "50:50" };
        var pairBatch = new Option<int>("--pair-batch") { Description = "Batch size of both models in the pairs part", DefaultValueFactory = _ => 8 };
        var pairs = new Option<string?>("--pairs") { Description = "Model pairs for the pairs part, each measured both ways, e.g. resnet50:bert_base (default: every ordered pair of the models)" };
        var greenShare = new Option<int>("--green-share") { Description = "SM share in percent of the green part (its first model, grid caps against a green context)", DefaultValueFactory = _ => 50 };
        var greenBatches = new Option<string>("--green-batches") { Description = "Batch sizes of the green part", DefaultValueFactory = _ => "1,8" };
        var coldBatch = new Option<int>("--cold-batch") { Description = "Batch size of the cold-start part", DefaultValueFactory = _ => 1 };
        var group = new Option<long>("--transfer-group-bytes") { Description = "Target size of a transfer group", DefaultValueFactory = _ => 2L << 20 };
        var reserved = new Option<long>("--reserved-bytes") { Description = "Device memory reserved (0: 90% of free memory on CUDA, 256 MiB on ilgpu-cpu)" };
        var budget = new Option<double>("--time-budget") { Description = "Seconds after which no new measurement starts", DefaultValueFactory = _ => 3600 };
        var json = new Option<FileInfo?>("--json") { Description = "Write the results as JSON to this file" };
        var csvDir = new Option<DirectoryInfo?>("--csv-dir") { Description = "Write profile.csv (share part) and pairs.csv (pairs part) here" };
        var command = new Command("swap-bench", "Measure swapping and gpulets on a device: bandwidth, swap-in, cold start, latency by SM share, co-location slowdown")
        {
            device, measure, models, sizes, repeats, batches, partitions, splits, pairBatch, pairs, greenShare, greenBatches, coldBatch, group, reserved, budget, json, csvDir,
        };
        command.SetAction(parse =>
        {
            try
            {
                var settings = new Settings(
                    parse.GetRequiredValue(device) == "cuda" ? GpuDeviceKind.Cuda : GpuDeviceKind.IlgpuCpu,
                    OptionLists.Items(parse.GetRequiredValue(measure)),
                    OptionLists.Items(parse.GetRequiredValue(models)),
                    parse.GetValue(sizes) is { } s ? [.. OptionLists.Items(s).Select(v => Positive(v, "size"))] : TransferBandwidth.DefaultSizes,
                    OptionLists.PositiveValue(parse.GetValue(repeats), "repeat count"),
                    [.. OptionLists.Items(parse.GetRequiredValue(batches)).Select(v => (int)Positive(v, "batch size"))],
                    [.. OptionLists.Items(parse.GetRequiredValue(partitions)).Select(v => (int)Positive(v, "SM share"))],
                    [.. OptionLists.Items(parse.GetRequiredValue(splits)).Select(Split)],
                    parse.GetValue(pairBatch),
                    parse.GetValue(pairs) is { } p ? [.. OptionLists.Items(p).SelectMany(Pair)] : null,
                    OptionLists.PositiveValue(parse.GetValue(greenShare), "green share"),
                    OptionLists.Positive(parse.GetRequiredValue(greenBatches), "batch size"),
                    parse.GetValue(coldBatch),
                    parse.GetValue(group),
                    parse.GetValue(reserved),
                    parse.GetValue(budget),
                    parse.GetValue(json),
                    parse.GetValue(csvDir));
                var unknown = settings.Parts.Except(AllParts).ToList();
                if (unknown.Count > 0)
                {
                    throw new ArgumentException($"unknown part(s): {string.Join(", ", unknown)} (known: {string.Join(", ", AllParts)})");
                }
                return RunAsync(settings).GetAwaiter().GetResult();
            }
            catch (ArgumentException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private sealed record Settings(
        GpuDeviceKind Kind, string[] Parts, string[] Models, IReadOnlyList<long> Sizes, int Repeats, int[] Batches, int[] Partitions,
        (int, int)[] Splits, int PairBatch, (string, string)[]? Pairs, int GreenShare, int[] GreenBatches, int ColdBatch, long TransferGroupBytes,
        long ReservedBytes, double BudgetSeconds, FileInfo? Json, DirectoryInfo? CsvDir);

    private static long Positive(string text, string what) =>
        long.TryParse(text, out var value) && value > 0 ? value : throw new ArgumentException($"'{text}' is not a {what}");

    // "a:b" is measured both ways: a beside b, and b beside a.
    private static (string, string)[] Pair(string text)
    {
        var parts = text.Split(':');
        return parts.Length == 2 && parts.All(p => p.Length > 0)
            ? [(parts[0], parts[1]), (parts[1], parts[0])]
            : throw new ArgumentException($"'{text}' is not a model pair like resnet50:bert_base");
    }

    private static (int, int) Split(string text)
    {
        var parts = text.Split(':');
        return parts.Length == 2 && int.TryParse(parts[0], out var a) && int.TryParse(parts[1], out var b) && a > 0 && b > 0 && a + b <= 100
            ? (a, b)
            : throw new ArgumentException($"'{text}' is not a gpulet pair like 50:50 (two shares summing to at most 100)");
    }

    private static async Task<int> RunAsync(Settings settings)
    {
        var clock = Stopwatch.StartNew();
        bool TimeLeft() => clock.Elapsed.TotalSeconds < settings.BudgetSeconds;
        var report = new Dictionary<string, object?>
        {
            ["date"] = DateTimeOffset.UtcNow.ToString("O"),
            ["machine"] = Environment.MachineName,
            ["os"] = RuntimeInformation.OSDescription,
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["transfer_group_bytes"] = settings.TransferGroupBytes,
        };
        var errors = new Dictionary<string, string>();
        report["errors"] = errors;
        var models = new List<BenchModel>();
        foreach (var argument in settings.Models)
        {
            var (bytes, name) = ModelSource.Read(argument);
            models.Add(new BenchModel(name, bytes, OnnxGraph.Read(bytes)));
        }
        if (settings.Pairs?.SelectMany(p => new[] { p.Item1, p.Item2 }).FirstOrDefault(m => models.All(b => b.Name != m)) is { } stranger)
        {
            throw new ArgumentException($"pair model '{stranger}' is not among --models");
        }

        bool Wanted(params string[] parts) => settings.Parts.Intersect(parts).Any();

        // Each part fails on its own: its error is recorded under its name and the next part runs.
        async Task Part(string part, bool wanted, Func<Task> measure)
        {
            if (!wanted)
            {
                return;
            }
            try
            {
                await measure();
            }
            catch (Exception e) when (e is ModelPlanException || DeviceFailures.IsDeviceFailure(e))
            {
                errors[part] = $"{e.GetType().Name}: {e.Message}";
                AnsiConsole.MarkupLineInterpolated($"[red]{part} failed:[/] {e.Message}");
            }
            Save();
        }

        // Swap-ins are judged against the pinned bandwidth, and cold starts against the swap-in time.
        var bandwidth = double.NaN;
        await Part("bandwidth", Wanted("bandwidth", "swapin", "coldstart"), async () =>
        {
            using var worker = await DeviceWorker.StartAsync(settings.Kind);
            report["device"] = worker.Description;
            AnsiConsole.MarkupLineInterpolated($"{worker.Description}");
            var measureAll = settings.Parts.Contains("bandwidth");
            var measured = worker.Run(d => TransferBandwidth.Measure(d, measureAll ? settings.Sizes : [settings.Sizes.Max()], settings.Repeats));
            var points = measured.Points;
            bandwidth = measured.SwapBandwidthGbPerSecond;
            report["pinned_bandwidth_gb_per_second"] = measured.PinnedFailure is null ? bandwidth : double.NaN;
            if (measured.PinnedFailure is { } refused)
            {
                // Swap-ins then copy from unregistered memory too, so they are judged against the pageable bandwidth.
                report["pinned_registration_failure"] = refused;
                errors["pinned"] = refused;
                AnsiConsole.MarkupLineInterpolated($"[red]pinned memory refused:[/] {refused}; swap-ins are judged against pageable bandwidth");
            }
            if (measureAll)
            {
                foreach (var p in points)
                {
                    AnsiConsole.MarkupLineInterpolated($"{p.Memory,-8} {p.Bytes,12:N0} B: best {p.BestGbPerSecond,7:N2} GB/s, median {p.MedianGbPerSecond,7:N2} GB/s");
                }
                report["bandwidth"] = points;
                report["pinned_knee_bytes"] = TransferBandwidth.Knee(points, "pinned");
                AnsiConsole.MarkupLineInterpolated($"pinned knee (90% of the best median): {report["pinned_knee_bytes"]:N0} B");
            }
        });

        var coldWarm = new Dictionary<string, (double Warm, double Pipelined, double TransferMs)>();
        var swapIns = new List<SwapInPoint>();
        if (Wanted("swapin", "coldstart", "share", "pairs"))
        {
            SwapMeasurements? bench = null;
            await Part("device", true, async () =>
            {
                bench = await SwapMeasurements.StartAsync(settings.Kind, models, SwapMode.Pipelined, settings.ReservedBytes, settings.TransferGroupBytes);
                report["device"] = bench.Gpu.Name;
            });
            if (bench is not null)
            {
                using (bench)
                {
                    await Part("swapin", Wanted("swapin", "coldstart"), () => SwapIns(bench));
                    await Part("coldstart", Wanted("coldstart"), async () =>
                    {
                        foreach (var model in models.Where(_ => TimeLeft()))
                        {
                            var warm = await bench.WarmAsync(model.Name, settings.ColdBatch, settings.Repeats);
                            var cold = await bench.ColdAsync(model.Name, settings.ColdBatch, settings.Repeats);
                            var transfer = swapIns.FirstOrDefault(s => s.Model == model.Name)?.MedianMs ?? double.NaN;
                            coldWarm[model.Name] = (warm, cold, transfer);
                        }
                    });
                    await Part("share", Wanted("share"), async () =>
                    {
                        // The profile's device column names the device type: the name up to its details, without commas.
                        var deviceType = bench.Gpu.Name.Split(" (")[0].Replace(',', ' ');
                        var rows = await bench.ShareAsync(settings.Partitions, settings.Batches, settings.Repeats, deviceType, TimeLeft,
                            r => AnsiConsole.MarkupLineInterpolated($"share {r.Model} {r.Partition}% batch {r.Batch}: {r.LatencyMs:N3} ms"));
                        report["share"] = rows.Select(r => new { r.Model, r.Partition, r.Batch, latency_ms = r.LatencyMs }).ToList();
                        if (settings.CsvDir is not null)
                        {
                            settings.CsvDir.Create();
                            await File.WriteAllTextAsync(Path.Combine(settings.CsvDir.FullName, "profile.csv"), new ProfileTable(rows).ToCsv());
                        }
                    });
                    await Part("pairs", Wanted("pairs"), async () =>
                    {
                        var pairs = await bench.PairsAsync(settings.Splits, settings.PairBatch, settings.Repeats, TimeLeft,
                            p => AnsiConsole.MarkupLineInterpolated($"pair {p.Model}@{p.Partition}% with {p.Neighbour}@{p.NeighbourPartition}%: {p.SoloMs:N3} -> {p.CoLocatedMs:N3} ms ({p.Slowdown:N3}x)"),
                            settings.Pairs);
                        report["pairs"] = pairs;
                        if (settings.CsvDir is not null)
                        {
                            settings.CsvDir.Create();
                            var lines = pairs.Select(p => string.Create(System.Globalization.CultureInfo.InvariantCulture,
                                $"{p.Model},{p.Partition},{p.Neighbour},{p.NeighbourPartition},{p.Batch},{p.SoloMs:0.####},{p.CoLocatedMs:0.####},{p.Slowdown:0.####}"));
                            await File.WriteAllLinesAsync(Path.Combine(settings.CsvDir.FullName, "pairs.csv"),
                                ["model,partition,neighbour,neighbour_partition,batch,solo_ms,colocated_ms,slowdown", .. lines]);
                        }
                    });
                }
            }
        }

        if (coldWarm.Count > 0)
        {
            await Part("coldstart-baseline", true, async () =>
            {
                using var baseline = await SwapMeasurements.StartAsync(settings.Kind, models, SwapMode.TransferThenRun, settings.ReservedBytes, settings.TransferGroupBytes);
                var points = new List<ColdStartPoint>();
                foreach (var (name, (warm, pipelined, transfer)) in coldWarm)
                {
                    var sequential = TimeLeft() ? await baseline.ColdAsync(name, settings.ColdBatch, settings.Repeats) : double.NaN;
                    var computeBound = warm >= transfer;
                    var goalMet = computeBound ? pipelined / warm <= 1.15 : pipelined <= transfer * 1.1;
                    points.Add(new ColdStartPoint(name, settings.ColdBatch, warm, pipelined, sequential, transfer, pipelined / warm, pipelined / transfer,
                        computeBound ? "compute-bound" : "transfer-bound", goalMet));
                    AnsiConsole.MarkupLineInterpolated($"cold start {name} batch {settings.ColdBatch}: warm {warm:N3} ms, pipelined {pipelined:N3} ms, transfer-then-run {sequential:N3} ms, transfer {transfer:N3} ms ({(computeBound ? "compute" : "transfer")}-bound; goal {(goalMet ? "met" : "not met")})");
                }
                report["cold_start"] = points;
            });
        }

        await Part("green", Wanted("green"), async () =>
        {
            if (settings.Kind != GpuDeviceKind.Cuda)
            {
                throw new NotSupportedException("green contexts are a CUDA feature");
            }
            var points = new List<GreenPoint>();
            report["green"] = points;
            await GreenContextComparison.MeasureAsync(models[0], settings.GreenShare, settings.GreenBatches, settings.Repeats, TimeLeft, p =>
            {
                points.Add(p);
                Save();
                AnsiConsole.MarkupLineInterpolated($"green {p.Model} batch {p.Batch} {p.Mode} ({p.SmCount} SMs): {p.MedianMs:N3} ms");
            });
        });
        return errors.Count == 0 ? 0 : 1;

        async Task SwapIns(SwapMeasurements bench)
        {
            swapIns = await bench.SwapInAsync(settings.Repeats, bandwidth, TimeLeft);
            foreach (var p in swapIns)
            {
                AnsiConsole.MarkupLineInterpolated($"swap-in {p.Model}: {p.WeightBytes:N0} B in {p.Groups} groups, {p.MedianMs:N3} ms vs {p.ExpectedMs:N3} ms at {p.BandwidthGbPerSecond:N2} GB/s ({p.Ratio:N2}x)");
            }
            report["swap_in"] = swapIns;
        }

        void Save()
        {
            if (settings.Json is not null)
            {
                BenchmarkJson.Write(settings.Json.FullName, report);
            }
        }
    }
}
