using System.Diagnostics;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Native;
using OrleansServe.Engine.Memory;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>Host-to-device bandwidth at one transfer size from one kind of host memory.</summary>
/// <param name="Memory">"pageable" (a managed array) or "pinned" (page-locked native memory, copied asynchronously).</param>
public sealed record BandwidthPoint(string Memory, long Bytes, int Repeats, double BestGbPerSecond, double MedianGbPerSecond);

/// <summary>The points measured, and why there are no pinned ones when the driver would not register the buffer.</summary>
public sealed record BandwidthMeasurement(IReadOnlyList<BandwidthPoint> Points, string? PinnedFailure)
{
    /// <summary>The best median of the pinned points, else of the pageable ones (what swap-ins then copy from).</summary>
    public double SwapBandwidthGbPerSecond =>
        Points.Where(p => p.Memory == (PinnedFailure is null ? "pinned" : "pageable")).Select(p => p.MedianGbPerSecond).DefaultIfEmpty(double.NaN).Max();
}

/// <summary>
/// Measures host-to-device copy bandwidth across transfer sizes, pageable against pinned, to find the knee (the
/// smallest transfer that reaches 90% of the best bandwidth), which sets the transfer-group size of swap-ins.
/// </summary>
public static class TransferBandwidth
{
    /// <summary>64 KiB to 256 MiB.</summary>
    public static IReadOnlyList<long> DefaultSizes { get; } = [64 << 10, 256 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20, 64 << 20, 256 << 20];

    /// <summary>
    /// Runs on the device's thread; each size is copied <paramref name="repeats"/> times from each memory kind. The
    /// pinned side is one buffer of the largest size, registered once with <paramref name="registrar"/> (the driver
    /// refuses a second registration of a range it already holds), and each size copies its prefix. On CUDA the
    /// pinned copies are the swap-in's own (cuMemcpyHtoDAsync); elsewhere a plain copy. When the driver refuses to
    /// register the buffer, the pageable points are still measured and the refusal is returned in place of pinned ones.
    /// </summary>
    /// <param name="registrar">Registers the pinned buffer; <see cref="CudaHostRegistrar"/> on CUDA when null, none elsewhere.</param>
    public static unsafe BandwidthMeasurement Measure(GpuDevice device, IReadOnlyList<long> sizes, int repeats, IHostMemoryRegistrar? registrar = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        var largest = sizes.Max();
        var points = new List<BandwidthPoint>();
        using var target = device.Accelerator.Allocate1D<byte>(largest);
        var pageable = new byte[largest];
        Random.Shared.NextBytes(pageable);
        var api = device.Kind == GpuDeviceKind.Cuda ? CudaDriverApi.Load() : null;
        registrar ??= api is null ? null : new CudaHostRegistrar(api, device.Accelerator.Bind);
        using var pinned = new PinnedHostBuffer(largest, registrar);
        new Span<byte>(pageable).CopyTo(new Span<byte>((void*)pinned.Pointer, (int)Math.Min(largest, int.MaxValue)));
        var failure = registrar is not null && !pinned.IsRegistered ? pinned.RegistrationFailure ?? "the driver refused the buffer" : null;
        foreach (var bytes in sizes)
        {
            var view = target.View.SubView(0, bytes);
            points.Add(Time("pageable", bytes, repeats, () => view.CopyFromCPU(device.Stream, ref pageable[0], bytes)));
            if (failure is null)
            {
                points.Add(Time("pinned", bytes, repeats, api is not null && device.Stream is CudaStream stream
                    ? () => api.CopyHostToDeviceAsync(target.NativePtr, pinned.Pointer, bytes, stream.StreamPtr)
                    : () => view.CopyFromCPU(device.Stream, ref *(byte*)pinned.Pointer, bytes)));
            }
        }
        return new BandwidthMeasurement(points, failure);

        BandwidthPoint Time(string memory, long bytes, int count, Action copy)
        {
            copy();
            device.Synchronize();
            var rates = new double[count];
            for (var i = 0; i < count; i++)
            {
                var start = Stopwatch.GetTimestamp();
                copy();
                device.Synchronize();
                rates[i] = bytes / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9;
            }
            Array.Sort(rates);
            return new BandwidthPoint(memory, bytes, count, rates[^1], rates[count / 2]);
        }
    }

    /// <summary>The smallest transfer reaching <paramref name="fraction"/> of the best bandwidth of that memory kind.</summary>
    public static long? Knee(IEnumerable<BandwidthPoint> points, string memory, double fraction = 0.9)
    {
        var ofKind = points.Where(p => p.Memory == memory).OrderBy(p => p.Bytes).ToList();
        if (ofKind.Count == 0)
        {
            return null;
        }
        var best = ofKind.Max(p => p.MedianGbPerSecond);
        return ofKind.First(p => p.MedianGbPerSecond >= fraction * best).Bytes;
    }
}
