using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using OrleansServe.Cli.Benchmarks;
using OrleansServe.Engine.Gpu;
using Spectre.Console;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>swap-bench --device cuda --measure bandwidth --json swap.json</c>: the swapping and gpulet measurements of the
/// device (host-to-device bandwidth by transfer size, pageable against pinned), saved as JSON after each part.
/// </summary>
public static class SwapBenchCommand
{
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "cuda or ilgpu-cpu", DefaultValueFactory = _ => "cuda" };
        device.AcceptOnlyFromAmong("cuda", "ilgpu-cpu");
        var measure = new Option<string>("--measure") { Description = "Comma-separated parts: bandwidth", DefaultValueFactory = _ => "bandwidth" };
        var sizes = new Option<string?>("--sizes") { Description = "Transfer sizes in bytes for bandwidth (default 64 KiB to 256 MiB)" };
        var repeats = new Option<int>("--repeats") { Description = "Timed copies per size and memory kind", DefaultValueFactory = _ => 20 };
        var json = new Option<FileInfo?>("--json") { Description = "Write the results as JSON to this file" };
        var command = new Command("swap-bench", "Measure host-to-device transfers for swapping") { device, measure, sizes, repeats, json };
        command.SetAction(parse => Run(
            parse.GetRequiredValue(device),
            parse.GetRequiredValue(measure).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            parse.GetValue(sizes),
            parse.GetValue(repeats),
            parse.GetValue(json)));
        return command;
    }

    private static int Run(string deviceName, string[] parts, string? sizeList, int repeats, FileInfo? jsonFile)
    {
        var unknown = parts.Except(["bandwidth"]).ToList();
        if (unknown.Count > 0 || repeats < 1)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {(unknown.Count > 0 ? $"unknown part(s): {string.Join(", ", unknown)}" : "--repeats must be at least 1")}");
            return 1;
        }
        IReadOnlyList<long> sizes;
        try
        {
            sizes = sizeList is null
                ? TransferBandwidth.DefaultSizes
                : [.. sizeList.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => long.TryParse(s, out var v) && v > 0 ? v : throw new ArgumentException($"'{s}' is not a size in bytes"))];
        }
        catch (ArgumentException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
        DeviceWorker worker;
        try
        {
            worker = DeviceWorker.StartAsync(deviceName == "cuda" ? GpuDeviceKind.Cuda : GpuDeviceKind.IlgpuCpu).GetAwaiter().GetResult();
        }
        catch (NotSupportedException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
        using (worker)
        {
            var report = new Dictionary<string, object?>
            {
                ["date"] = DateTimeOffset.UtcNow.ToString("O"),
                ["machine"] = Environment.MachineName,
                ["os"] = RuntimeInformation.OSDescription,
                ["runtime"] = RuntimeInformation.FrameworkDescription,
                ["device"] = worker.Description,
            };
            AnsiConsole.MarkupLineInterpolated($"{worker.Description}");
            if (parts.Contains("bandwidth"))
            {
                var points = worker.Run(d => TransferBandwidth.Measure(d, sizes, repeats));
                foreach (var p in points)
                {
                    AnsiConsole.MarkupLineInterpolated($"{p.Memory,-8} {p.Bytes,12:N0} B: best {p.BestGbPerSecond,7:N2} GB/s, median {p.MedianGbPerSecond,7:N2} GB/s");
                }
                var knee = TransferBandwidth.Knee(points, "pinned");
                AnsiConsole.MarkupLineInterpolated($"pinned knee (90% of best median): {knee:N0} B");
                report["bandwidth"] = points;
                report["pinned_knee_bytes"] = knee;
                Save();
            }
            return 0;

            void Save()
            {
                if (jsonFile is not null)
                {
                    File.WriteAllText(jsonFile.FullName, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
                }
            }
        }
    }
}
