using System.Diagnostics;
using OrleansServe.Cli.Commands;
using OrleansServe.Engine.Gpu;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>A model's warm forward pass on one way of giving it part of a GPU.</summary>
/// <param name="Mode">"whole" (the device), "grid-cap" (a gpulet: its launches capped to its share of the SMs) or "green" (a green context of that many SMs).</param>
/// <param name="SmCount">SMs the mode gives the model.</param>
public sealed record GreenPoint(string Model, int Batch, string Mode, int SmCount, double MedianMs);

/// <summary>
/// Green contexts against the grid caps gpulets use today: one model at one share, timed on the whole device, on a
/// grid-capped partition and inside a green context of the same share (rounded by the driver to its SM granularity).
/// CUDA only; the green context outlives the measurement until the process ends (see <see cref="GpuDevice.CreateOnGreenContext"/>).
/// </summary>
public static class GreenContextComparison
{
    public static async Task<List<GreenPoint>> MeasureAsync(BenchModel model, int sharePercent, IReadOnlyList<int> batches, int repeats, Action<GreenPoint> progress)
    {
        var points = new List<GreenPoint>();
        int smCount;
        using (var worker = await DeviceWorker.StartAsync(GpuDeviceKind.Cuda))
        {
            smCount = worker.Run(device =>
            {
                points.AddRange(On(device, "whole", device.Accelerator.NumMultiprocessors, model, batches, repeats, progress));
                using var gpulet = device.CreatePartition(sharePercent);
                points.AddRange(On(gpulet, "grid-cap", gpulet.SmCount, model, batches, repeats, progress));
                return gpulet.SmCount;
            });
        }
        using var green = await DeviceWorker.StartAsync("gpu-green", () => GpuDevice.CreateOnGreenContext(0, smCount));
        points.AddRange(green.Run(device => On(device, "green", device.SmCount, model, batches, repeats, progress)));
        return points;
    }

    private static List<GreenPoint> On(GpuDevice device, string mode, int sms, BenchModel model, IReadOnlyList<int> batches, int repeats, Action<GreenPoint> progress)
    {
        var points = new List<GreenPoint>();
        using var loaded = DeviceModel.Load(device, model.Graph);
        foreach (var batch in batches)
        {
            var inputs = BenchCommand.SyntheticInputs(model.Graph, batch);
            var shapes = inputs.ToDictionary(i => i.Name, i => i.Shape.Select(d => (int)d).ToArray());
            loaded.Run(inputs);
            var times = new double[repeats];
            for (var i = 0; i < repeats; i++)
            {
                var start = Stopwatch.GetTimestamp();
                loaded.RunStepsOnly(shapes);
                device.Synchronize();
                times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            var point = new GreenPoint(model.Name, batch, mode, sms, DeviceBench.Median(times));
            points.Add(point);
            progress(point);
        }
        return points;
    }
}
