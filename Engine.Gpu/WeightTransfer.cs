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
            try
            {
                // Enqueued here so every event is recorded before any compute stream is told to wait on it.
                for (var g = 0; g < transfer.GroupCount; g++)
                {
                    var group = weights.Layout.Groups[g];
                    var target = destination.SubView(group.OffsetElements, group.LengthElements);
                    api.CopyHostToDeviceAsync(target.LoadEffectiveAddressAsPtr(), weights.GroupPointer(g), group.Bytes, cuda.StreamPtr);
                    api.RecordEvent(transfer.Events[g], cuda.StreamPtr);
                }
            }
            catch
            {
                // The groups already queued still read the host weights and write the block, which the caller frees
                // next: let them finish first. The transfer never started, so it owns neither lease nor block.
                Drain();
                transfer.DestroyEvents();
                throw;
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

    // The events are made with blocking sync, so this thread sleeps in the driver rather than spinning a core.
    private bool Watch(WeightTransfer transfer, IDisposable lease) =>
        Deliver(transfer, lease, g =>
        {
            transfer.Cuda!.SynchronizeEvent(transfer.Events[g]);
            return true;
        });

    /// <summary>
    /// Lands a transfer's groups in order on the copy thread: <paramref name="land"/> makes group g arrive (false: the
    /// transfer was cancelled, stop), then it is counted and reported; the lease on the host weights is released and
    /// the transfer finishes with the outcome. After a failure the copy stream is drained first, so no copy still
    /// queued behind the failed one can read the host weights or write the block once they are let go.
    /// </summary>
    private bool Deliver(WeightTransfer transfer, IDisposable lease, Func<int, bool> land)
    {
        Exception? failure = null;
        try
        {
            for (var g = 0; g < transfer.GroupCount && land(g); g++)
            {
                Interlocked.Increment(ref groupsCopied);
                transfer.Land(g, Observer);
            }
        }
        catch (Exception e)
        {
            failure = e;
            Drain();
        }
        // Released before the transfer completes: whoever awaits it may free the host weights right after.
        lease.Dispose();
        transfer.Finish(failure);
        return true;
    }

    /// <summary>Waits for every copy on the copy stream; a stream the driver already failed has nothing left to run.</summary>
    private void Drain()
    {
        try
        {
            stream.Synchronize();
        }
        catch (Exception e) when (e is ILGPU.Runtime.Cuda.CudaException or InvalidOperationException)
        {
            // A failed stream runs nothing more: there is nothing left to wait for.
        }
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
    private readonly bool[] arrived;
    private readonly bool[] knownLanded;
    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource cancel = new();
    private int landedCount;
    private int eventsDestroyed;
    private int finishedCalled;

    private readonly Action finished;

    internal WeightTransfer(string model, int groups, CudaDriverApi? cuda, Action finished)
    {
        this.finished = finished;
        Model = model;
        GroupCount = groups;
        Cuda = cuda;
        landed = [.. Enumerable.Range(0, groups).Select(_ => new ManualResetEventSlim(false))];
        arrived = new bool[groups];
        knownLanded = new bool[groups];
        Events = cuda is null ? [] : CreateEvents(cuda, groups);
        if (groups == 0)
        {
            Finish(null);
        }
    }

    /// <summary>The model being swapped in.</summary>
    public string Model { get; }

    /// <summary>Transfer groups in the model's layout.</summary>
    public int GroupCount { get; }

    /// <summary>Completes when every group has landed; faults with a <see cref="SwapInException"/> when a copy failed.</summary>
    public Task Completion => completion.Task;

    /// <summary>True once every group has landed.</summary>
    public bool IsComplete => Volatile.Read(ref landedCount) == GroupCount;

    internal CudaDriverApi? Cuda { get; }

    internal IntPtr[] Events { get; }

    internal CancellationToken Cancellation => cancel.Token;

    /// <summary>Whether group <paramref name="group"/> has landed.</summary>
    public bool HasLanded(int group) => Volatile.Read(ref arrived[group]);

    /// <summary>
    /// Makes work enqueued next on <paramref name="device"/>'s stream wait for <paramref name="group"/>: on CUDA the
    /// compute stream waits on the group's event (skipped when it is known complete); on the CPU accelerator the
    /// calling thread blocks until the copy thread has landed it. A group below zero needs nothing.
    /// <paramref name="waiting"/> runs only when the group has not landed yet, just before the wait.
    /// </summary>
    /// <exception cref="SwapInException">The transfer failed or was stopped before the group landed: the step would read missing weights.</exception>
    internal void WaitFor(int group, GpuDevice device, Action? waiting = null)
    {
        if (group < 0 || knownLanded[group])
        {
            return;
        }
        ThrowIfVoid(group);
        if (Cuda is { } api && device.Stream is CudaStream stream)
        {
            if (HasLanded(group) || api.QueryEvent(Events[group]))
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
        // Waiters are woken when a transfer fails as well as when their group lands.
        ThrowIfVoid(group);
        knownLanded[group] = true;
    }

    /// <summary>Blocks until every group landed; throws <see cref="SwapInException"/> when the transfer failed.</summary>
    internal void WaitAll()
    {
        try
        {
            Completion.GetAwaiter().GetResult();
        }
        catch (TaskCanceledException e)
        {
            throw Void(e);
        }
    }

    internal void Land(int group, ISwapObserver? observer)
    {
        Volatile.Write(ref arrived[group], true);
        landed[group].Set();
        Interlocked.Increment(ref landedCount);
        observer?.GroupLanded(Model, group, Stopwatch.GetTimestamp());
    }

    internal void Finish(Exception? error)
    {
        // Once: the copy thread finishes every transfer it is given, also one with no groups that finished at once.
        if (Interlocked.Exchange(ref finishedCalled, 1) != 0)
        {
            return;
        }
        finished();
        if (error is not null)
        {
            completion.TrySetException(new SwapInException(Model, $"copying its weights to the device failed: {error.Message}", error));
        }
        else if (IsComplete)
        {
            completion.TrySetResult();
        }
        else
        {
            completion.TrySetCanceled();
        }
        // Wake waiters on groups that will never land; they throw.
        foreach (var group in landed)
        {
            group.Set();
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
        DestroyEvents();
    }

    /// <summary>Destroys the CUDA events once (no compute stream may wait on them afterwards).</summary>
    internal void DestroyEvents()
    {
        if (Cuda is not { } api || Interlocked.Exchange(ref eventsDestroyed, 1) != 0)
        {
            return;
        }
        foreach (var cudaEvent in Events)
        {
            _ = TryDestroy(api, cudaEvent);
        }
    }

    private void ThrowIfVoid(int group)
    {
        if (HasLanded(group) || !Completion.IsCompleted)
        {
            return;
        }
        throw Void(Completion.Exception?.InnerException);
    }

    private SwapInException Void(Exception? failure) => failure as SwapInException
        ?? new SwapInException(Model, "its swap-in was stopped before its weights landed", failure);

    private static IntPtr[] CreateEvents(CudaDriverApi cuda, int groups)
    {
        var events = new List<IntPtr>(groups);
        try
        {
            for (var g = 0; g < groups; g++)
            {
                events.Add(cuda.CreateEvent(blockingSync: true));
            }
            return [.. events];
        }
        catch
        {
            foreach (var cudaEvent in events)
            {
                _ = TryDestroy(cuda, cudaEvent);
            }
            throw;
        }
    }

    private static bool TryDestroy(CudaDriverApi cuda, IntPtr cudaEvent)
    {
        try
        {
            cuda.DestroyEvent(cudaEvent);
            return true;
        }
        catch (InvalidOperationException)
        {
            // The context is gone or failed: its events went with it.
            return false;
        }
    }
}
