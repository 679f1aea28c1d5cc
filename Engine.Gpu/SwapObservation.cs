using System.Collections.Concurrent;

namespace OrleansServe.Engine.Gpu;

/// <summary>How a swapped-in model's first batch waits for its weights.</summary>
public enum SwapMode
{
    /// <summary>
    /// PipeSwitch/Torpor: transfer groups are copied in order and each step waits only for the group its weights
    /// are in, so compute starts before the last weights land.
    /// </summary>
    Pipelined,

    /// <summary>Every group lands before the first step runs (the baseline pipelining is measured against).</summary>
    TransferThenRun,
}

/// <summary>
/// Sees swap-ins as they happen, for tests and benchmarks. Called on device threads (the copy thread and the
/// gpulets' threads): implementations must be quick and thread-safe. Timestamps are <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>.
/// </summary>
public interface ISwapObserver
{
    /// <summary>A transfer group of <paramref name="model"/> is on the device (its copy completed).</summary>
    void GroupLanded(string model, int group, long timestamp);

    /// <summary>
    /// Step <paramref name="step"/> of a forward pass of <paramref name="model"/> found its weights' group
    /// <paramref name="group"/> not landed yet and is about to wait for it (CUDA: the compute stream is told to wait).
    /// </summary>
    void StepWaiting(string model, int step, int group, long timestamp);

    /// <summary>
    /// Step <paramref name="step"/> of a forward pass of <paramref name="model"/> is about to be launched, its weights'
    /// group <paramref name="neededGroup"/> (−1: none) having landed, or the compute stream waiting for it (CUDA).
    /// </summary>
    void StepStarted(string model, int step, int neededGroup, long timestamp);
}

/// <summary>
/// Holds chosen transfer groups back until released, so tests prove ordering with explicit signals rather than
/// timing. Honoured by the copy thread of the ILGPU CPU accelerator (CUDA copies are enqueued at once and not gated).
/// Thread-safe.
/// </summary>
public sealed class TransferGate
{
    private readonly ConcurrentDictionary<(string Model, int Group), ManualResetEventSlim> held = new();
    private readonly ConcurrentDictionary<(string Model, int Group), ManualResetEventSlim> reached = new();
    private readonly ConcurrentDictionary<(string Model, int Group), Exception> failures = new();

    /// <summary>Holds the copy of <paramref name="group"/> of <paramref name="model"/> until <see cref="Release"/>.</summary>
    public void Hold(string model, int group) => held.GetOrAdd((model, group), _ => new ManualResetEventSlim(false)).Reset();

    /// <summary>Lets a held group's copy go.</summary>
    public void Release(string model, int group)
    {
        if (held.TryGetValue((model, group), out var gate))
        {
            gate.Set();
        }
    }

    /// <summary>Blocks until the copy thread reached a held group (and stopped there), or the timeout passed; true when it did.</summary>
    public bool WaitUntilReached(string model, int group, TimeSpan timeout) =>
        reached.GetOrAdd((model, group), _ => new ManualResetEventSlim(false)).Wait(timeout);

    /// <summary>Makes the next copy of <paramref name="group"/> of <paramref name="model"/> fail with <paramref name="failure"/> (once).</summary>
    public void Fail(string model, int group, Exception failure) => failures[(model, group)] = failure;

    /// <summary>
    /// Called by the copy thread before copying a group; returns when the group is not held or was released, and
    /// throws the failure set by <see cref="Fail"/> for it.
    /// </summary>
    internal void Pass(string model, int group, CancellationToken cancel)
    {
        reached.GetOrAdd((model, group), _ => new ManualResetEventSlim(false)).Set();
        if (held.TryGetValue((model, group), out var gate))
        {
            gate.Wait(cancel);
        }
        if (failures.TryRemove((model, group), out var failure))
        {
            throw failure;
        }
    }
}
