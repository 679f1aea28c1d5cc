using System.Diagnostics;
using OrleansServe.Cli.Commands;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Native;

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
    /// <summary>
    /// Times <paramref name="model"/> whole, on a grid-capped gpulet and in a green context. The green context's SMs are
    /// <paramref name="sharePercent"/> of the device rounded up to the driver's granularity, and the gpulet gets the
    /// share nearest that many SMs, so both modes run on (nearly) the same SMs. No new measurement starts once
    /// <paramref name="timeLeft"/> says no; <paramref name="progress"/> sees each point as it is made.
    /// </summary>
    public static async Task<List<GreenPoint>> MeasureAsync(
        BenchModel model, int sharePercent, IReadOnlyList<int> batches, int repeats, Func<bool> timeLeft, Action<GreenPoint> progress)
    {
        var points = new List<GreenPoint>();
        int greenSms;
        using (var worker = await DeviceWorker.StartAsync(GpuDeviceKind.Cuda))
        {
            greenSms = worker.Run(device =>
            {
                var all = device.Accelerator.NumMultiprocessors;
                var sms = new GreenContextApi(CudaDriverApi.Load()).RoundToGranularity(0, Math.Max(1, (int)Math.Round(all * sharePercent / 100.0)));
                points.AddRange(On(device, "whole", all, model, batches, repeats, timeLeft, progress));
                using var gpulet = device.CreatePartition(Math.Clamp((int)Math.Round(100.0 * sms / all), 1, 100));
                points.AddRange(On(gpulet, "grid-cap", gpulet.SmCount, model, batches, repeats, timeLeft, progress));
                return sms;
            });
        }
        if (!timeLeft())
        {
            return points;
        }
        using var green = await DeviceWorker.StartAsync("gpu-green", () => GpuDevice.CreateOnGreenContext(0, greenSms));
        points.AddRange(green.Run(device => On(device, "green", device.SmCount, model, batches, repeats, timeLeft, progress)));
        return points;
    }

    private static List<GreenPoint> On(
        GpuDevice device, string mode, int sms, BenchModel model, IReadOnlyList<int> batches, int repeats, Func<bool> timeLeft, Action<GreenPoint> progress)
    {
        var points = new List<GreenPoint>();
        using var loaded = DeviceModel.Load(device, model.Graph);
        foreach (var batch in batches.TakeWhile(_ => timeLeft()))
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
