using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Memory;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// The device memory a GPU device reserves at start, as one buffer managed by a <see cref="DeviceArena"/>: model
/// weights and activation workspaces are blocks of it, so swapping models in and out never calls the driver's
/// allocator, and compaction slides blocks down inside the buffer. Thread-safe (the arena's lock orders moves).
/// </summary>
public sealed class ReservedDeviceMemory : IArenaMover, IDisposable
{
    private readonly GpuDevice device;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> buffer;
    private readonly AcceleratorStream moveStream;
    private readonly Lock gate = new();
    private TaskCompletionSource? freedSignal;

    /// <summary>Reserves <paramref name="bytes"/> (rounded down to the arena's alignment) on <paramref name="device"/>. Call on a thread bound to its accelerator.</summary>
    public ReservedDeviceMemory(GpuDevice device, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, DeviceArena.DefaultAlignmentBytes);
        this.device = device;
        Arena = new DeviceArena(bytes, DeviceArena.DefaultAlignmentBytes, this);
        buffer = device.Accelerator.Allocate1D<float>(Arena.CapacityBytes / sizeof(float));
        moveStream = device.Accelerator.CreateStream();
    }

    /// <summary>The allocator over the buffer.</summary>
    public DeviceArena Arena { get; }

    /// <summary>Bytes reserved.</summary>
    public long CapacityBytes => Arena.CapacityBytes;

    /// <summary>
    /// Allocates a block, waiting up to <paramref name="wait"/> for blocks being freed (an eviction's memory is
    /// released just after the residency table admits the model that replaces it).
    /// </summary>
    /// <exception cref="DeviceMemoryException">No room was made in time; the arena's message says why.</exception>
    public ArenaBlock Allocate(long bytes, TimeSpan wait)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(wait.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            Task freed;
            lock (gate)
            {
                freed = (freedSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
            if (Arena.TryAllocate(bytes, out var block))
            {
                return block;
            }
            var remaining = deadline - Stopwatch.GetTimestamp();
            if (remaining <= 0 || !freed.Wait(TimeSpan.FromSeconds((double)remaining / Stopwatch.Frequency)))
            {
                return Arena.Allocate(bytes);
            }
        }
    }

    /// <summary>Returns a block to the arena and wakes allocations waiting for room.</summary>
    public void Free(ArenaBlock block)
    {
        Arena.Free(block);
        WakeWaiters();
    }

    /// <summary>
    /// Unpins a block and wakes allocations waiting for room: a pinned block in the way is what keeps compaction
    /// from making a hole, so its unpinning can make room as much as a free can.
    /// </summary>
    public void Unpin(ArenaBlock block)
    {
        block.Unpin();
        if (!block.IsPinned)
        {
            WakeWaiters();
        }
    }

    private void WakeWaiters()
    {
        TaskCompletionSource? signal;
        lock (gate)
        {
            signal = freedSignal;
            freedSignal = null;
        }
        signal?.TrySetResult();
    }

    /// <summary>Floats of <paramref name="block"/> from <paramref name="offsetElements"/>, at the block's current place.</summary>
    public ArrayView<float> View(ArenaBlock block, long offsetElements, long elements)
    {
        if (offsetElements < 0 || elements < 0 || (offsetElements + elements) * sizeof(float) > block.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(elements), $"{elements} floats at {offsetElements} do not fit a {block.Bytes}-byte block");
        }
        return buffer.View.SubView(block.Offset / sizeof(float) + offsetElements, elements);
    }

    /// <summary>
    /// Moves bytes down inside the buffer. The ranges may overlap, so the copy goes in chunks no longer than the
    /// distance moved, lowest first: each chunk's destination ends where its source begins or below, and every
    /// byte it overwrites was read by an earlier chunk. Waits for the copies, so a moved block is usable at once.
    /// </summary>
    public void Move(long fromOffset, long toOffset, long bytes)
    {
        if (toOffset >= fromOffset || fromOffset % sizeof(float) != 0 || toOffset % sizeof(float) != 0)
        {
            throw new ArgumentException($"a move goes down by whole floats; {fromOffset} → {toOffset} does not");
        }
        var from = fromOffset / sizeof(float);
        var to = toOffset / sizeof(float);
        var floats = bytes / sizeof(float);
        var chunk = from - to;
        // Called under the arena's lock from whichever device thread allocates; bind so CUDA has the context.
        device.Accelerator.Bind();
        for (long done = 0; done < floats; done += chunk)
        {
            var length = Math.Min(chunk, floats - done);
            buffer.View.SubView(from + done, length).CopyTo(moveStream, buffer.View.SubView(to + done, length));
        }
        moveStream.Synchronize();
    }

    /// <summary>Frees the buffer (every model on the device must be gone).</summary>
    public void Dispose()
    {
        moveStream.Dispose();
        buffer.Dispose();
    }
}
