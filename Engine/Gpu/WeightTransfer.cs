using System.Diagnostics;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu.Native;
using OrleansServe.Engine.Memory;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// The copy engine of one device: copies models' transfer groups from pinned host memory into their arena blocks,
/// in order, on a stream of its own, with one event per group. On CUDA the copies and event records are enqueued
/// at once on the copy stream (by the swapping-in thread) and this engine's thread only watches them land; on the
/// ILGPU CPU accelerator its thread does the copies itself, honouring the <see cref="TransferGate"/>.
/// </summary>
public sealed class WeightCopier : IDisposable
{
    private readonly GpuDevice device;
    private readonly DeviceThreads thread;
    private readonly AcceleratorStream stream;

    /// <summary>Starts the copy thread of <paramref name="device"/>. Call on a thread bound to its accelerator (the copy stream is made here).</summary>
    /// <param name="device">The whole device (its accelerator is shared by the gpulets).</param>
    /// <param name="observer">Told when each group lands, or null.</param>
    /// <param name="gate">Holds groups back for tests, or null.</param>
    public WeightCopier(GpuDevice device, ISwapObserver? observer = null, TransferGate? gate = null)
    {
        this.device = device;
        Observer = observer;
        Gate = gate;
        thread = new DeviceThreads($"copy-{device.KindName}", 1);
        stream = device.Accelerator.CreateStream();
        thread.RunAsync(() =>
        {
            device.Accelerator.Bind();
            return true;
        });
    }

    internal ISwapObserver? Observer { get; }

    internal TransferGate? Gate { get; }

    /// <summary>Groups copied so far, over every model (each group of each swap-in counts once).</summary>
    public long GroupsCopied => Interlocked.Read(ref groupsCopied);

    private long groupsCopied;

    /// <summary>
    /// Starts copying <paramref name="weights"/> into <paramref name="destination"/> (which must stay put: keep its
    /// block pinned until <see cref="WeightTransfer.Completion"/>). Call on a thread bound to the accelerator.
    /// </summary>
    /// <param name="model">The model, for the observer.</param>
    /// <param name="weights">The packed weights.</param>
    /// <param name="lease">Keeps the pinned host memory alive; disposed when the copy is done.</param>
    /// <param name="destination">Where the weights go.</param>
    /// <param name="finished">Runs once the copy thread is done with the destination, before the transfer completes.</param>
    internal WeightTransfer Start(string model, PackedWeights weights, IDisposable lease, ArrayView<float> destination, Action finished)
    {
        var transfer = new WeightTransfer(model, weights.Layout.Groups.Count, device.Kind == GpuDeviceKind.Cuda ? CudaDriverApi.Load() : null, finished);
        if (transfer.Cuda is { } api && stream is CudaStream cuda)
        {
            // Enqueued here so every event is recorded before any compute stream is told to wait on it.
            for (var g = 0; g < transfer.GroupCount; g++)
            {
                var group = weights.Layout.Groups[g];
                var target = destination.SubView(group.OffsetElements, group.LengthElements);
                api.CopyHostToDeviceAsync(target.LoadEffectiveAddressAsPtr(), weights.GroupPointer(g), group.Bytes, cuda.StreamPtr);
                api.RecordEvent(transfer.Events[g], cuda.StreamPtr);
            }
            thread.RunAsync(() => Watch(transfer, lease));
            return transfer;
        }
        thread.RunAsync(() => Copy(transfer, weights, lease, destination));
        return transfer;
    }

    private bool Copy(WeightTransfer transfer, PackedWeights weights, IDisposable lease, ArrayView<float> destination) =>
        Deliver(transfer, lease, g =>
        {
            Gate?.Pass(transfer.Model, g, transfer.Cancellation);
            if (transfer.Cancellation.IsCancellationRequested)
            {
                return false;
            }
            var group = weights.Layout.Groups[g];
            var source = weights.Group(g);
            destination.SubView(group.OffsetElements, group.LengthElements)
                .CopyFromCPU(stream, ref MemoryMarshal.GetReference(source), source.Length);
            stream.Synchronize();
            return true;
        });

    private bool Watch(WeightTransfer transfer, IDisposable lease) =>
        Deliver(transfer, lease, g =>
        {
            transfer.Cuda!.SynchronizeEvent(transfer.Events[g]);
            return true;
        });

    /// <summary>
    /// Lands a transfer's groups in order on the copy thread: <paramref name="land"/> makes group g arrive (false: the
    /// transfer was cancelled, stop), then it is counted and reported; the transfer finishes with the outcome and the
    /// lease on the host weights is released.
    /// </summary>
    private bool Deliver(WeightTransfer transfer, IDisposable lease, Func<int, bool> land)
    {
        try
        {
            for (var g = 0; g < transfer.GroupCount && land(g); g++)
            {
                Interlocked.Increment(ref groupsCopied);
                transfer.Land(g, Observer);
            }
            transfer.Finish(null);
        }
        catch (Exception e)
        {
            transfer.Finish(e);
        }
        finally
        {
            lease.Dispose();
        }
        return true;
    }

    /// <summary>Lets transfers in progress finish, then stops the thread.</summary>
    public void Dispose()
    {
        thread.RunAsync(() =>
        {
            stream.Dispose();
            return true;
        });
        thread.Dispose();
    }
}

/// <summary>
/// One swap-in's copy of a model's transfer groups: which groups have landed, and how compute waits for one.
/// </summary>
public sealed class WeightTransfer
{
    private readonly ManualResetEventSlim[] landed;
    private readonly bool[] knownLanded;
    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource cancel = new();
    private int landedCount;

    private readonly Action finished;

    internal WeightTransfer(string model, int groups, CudaDriverApi? cuda, Action finished)
    {
        this.finished = finished;
        Model = model;
        GroupCount = groups;
        Cuda = cuda;
        landed = [.. Enumerable.Range(0, groups).Select(_ => new ManualResetEventSlim(false))];
        knownLanded = new bool[groups];
        Events = cuda is null ? [] : [.. Enumerable.Range(0, groups).Select(_ => cuda.CreateEvent())];
        if (groups == 0)
        {
            finished();
            completion.SetResult();
        }
    }

    /// <summary>The model being swapped in.</summary>
    public string Model { get; }

    /// <summary>Transfer groups in the model's layout.</summary>
    public int GroupCount { get; }

    /// <summary>Completes when every group has landed (or faults when a copy failed).</summary>
    public Task Completion => completion.Task;

    /// <summary>True once every group has landed.</summary>
    public bool IsComplete => Volatile.Read(ref landedCount) == GroupCount;

    internal CudaDriverApi? Cuda { get; }

    internal IntPtr[] Events { get; }

    internal CancellationToken Cancellation => cancel.Token;

    /// <summary>Whether group <paramref name="group"/> has landed.</summary>
    public bool HasLanded(int group) => landed[group].IsSet;

    /// <summary>
    /// Makes work enqueued next on <paramref name="device"/>'s stream wait for <paramref name="group"/>: on CUDA the
    /// compute stream waits on the group's event (skipped when it is known complete); on the CPU accelerator the
    /// calling thread blocks until the copy thread has landed it. A group below zero needs nothing.
    /// <paramref name="waiting"/> runs only when the group has not landed yet, just before the wait.
    /// </summary>
    internal void WaitFor(int group, GpuDevice device, Action? waiting = null)
    {
        if (group < 0 || knownLanded[group])
        {
            return;
        }
        if (Cuda is { } api && device.Stream is CudaStream stream)
        {
            if (landed[group].IsSet || api.QueryEvent(Events[group]))
            {
                knownLanded[group] = true;
                return;
            }
            waiting?.Invoke();
            api.StreamWaitEvent(stream.StreamPtr, Events[group]);
            return;
        }
        if (!landed[group].IsSet)
        {
            waiting?.Invoke();
            landed[group].Wait(cancel.Token);
        }
        if (Completion.IsFaulted)
        {
            Completion.GetAwaiter().GetResult();
        }
        knownLanded[group] = true;
    }

    /// <summary>Blocks until every group landed; rethrows a copy failure.</summary>
    internal void WaitAll() => Completion.GetAwaiter().GetResult();

    internal void Land(int group, ISwapObserver? observer)
    {
        landed[group].Set();
        Interlocked.Increment(ref landedCount);
        observer?.GroupLanded(Model, group, Stopwatch.GetTimestamp());
    }

    internal void Finish(Exception? error)
    {
        finished();
        if (error is not null)
        {
            completion.TrySetException(error);
            // Wake waiters on groups that will never land; they rethrow the failure.
            foreach (var group in landed)
            {
                group.Set();
            }
        }
        else if (IsComplete)
        {
            completion.TrySetResult();
        }
        else
        {
            completion.TrySetCanceled();
            foreach (var group in landed)
            {
                group.Set();
            }
        }
    }

    /// <summary>Stops copying groups not yet started and waits for the copy thread to let go of the destination.</summary>
    internal void CancelAndWait()
    {
        cancel.Cancel();
        try
        {
            Completion.Wait();
        }
        catch (AggregateException)
        {
            // Cancelled or failed: either way the destination is no longer written.
        }
        if (Cuda is { } api)
        {
            foreach (var cudaEvent in Events)
            {
                api.DestroyEvent(cudaEvent);
            }
        }
    }
}
