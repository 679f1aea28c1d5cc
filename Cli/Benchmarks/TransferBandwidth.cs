using System.Diagnostics;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.Gpu;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>Host-to-device bandwidth at one transfer size from one kind of host memory.</summary>
/// <param name="Memory">"pageable" (a managed array) or "pinned" (page-locked native memory, copied asynchronously).</param>
public sealed record BandwidthPoint(string Memory, long Bytes, int Repeats, double BestGbPerSecond, double MedianGbPerSecond);

/// <summary>
/// Measures host-to-device copy bandwidth across transfer sizes, pageable against pinned, to find the knee (the
/// smallest transfer that reaches 90% of the best bandwidth), which sets the transfer-group size of swap-ins.
/// </summary>
public static class TransferBandwidth
{
    /// <summary>64 KiB to 256 MiB.</summary>
    public static IReadOnlyList<long> DefaultSizes { get; } = [64 << 10, 256 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20, 16 << 20, 64 << 20, 256 << 20];

    /// <summary>Runs on the device's thread; each size is copied <paramref name="repeats"/> times from each memory kind.</summary>
    public static unsafe List<BandwidthPoint> Measure(GpuDevice device, IReadOnlyList<long> sizes, int repeats)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        var largest = sizes.Max();
        var points = new List<BandwidthPoint>();
        using var target = device.Accelerator.Allocate1D<byte>(largest);
        var pageable = new byte[largest];
        Random.Shared.NextBytes(pageable);
        var pinned = (byte*)NativeMemory.AlignedAlloc((nuint)largest, 4096);
        try
        {
            new Span<byte>(pageable).CopyTo(new Span<byte>(pinned, (int)Math.Min(largest, int.MaxValue)));
            using var scope = device.Accelerator.CreatePageLockFromPinned<byte>((IntPtr)pinned, largest);
            foreach (var bytes in sizes)
            {
                var view = target.View.SubView(0, bytes);
                points.Add(Time("pageable", bytes, repeats, () => view.CopyFromCPU(device.Stream, ref pageable[0], bytes)));
                // The scope covers the largest size; a smaller copy reads its prefix through the same registration.
                using var prefix = bytes == largest ? null : device.Accelerator.CreatePageLockFromPinned<byte>((IntPtr)pinned, bytes);
                var source = prefix ?? scope;
                points.Add(Time("pinned", bytes, repeats, () => view.CopyFromPageLockedAsync(device.Stream, source)));
            }
        }
        finally
        {
            NativeMemory.AlignedFree(pinned);
        }
        return points;

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
