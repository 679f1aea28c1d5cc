using System.Collections.Concurrent;
using System.Diagnostics;
using OrleansServe.Engine.Execution;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// A gpulet on a GPU device: a partition of the device (its own stream, grid caps and GEMM sized for its SM share)
/// on a device thread of its own, and its own residency within its memory share. A swap-in allocates the model's
/// weights from the device's reserved memory and starts the pipelined copy; the first batch starts computing while
/// later transfer groups are still in flight. Made by <see cref="GpuExecutionDevice"/> through its <see cref="GpuletSet"/>.
/// </summary>
public sealed class GpuGpulet : Gpulet<GpuGpulet.ResidentModel>
{
    private readonly GpuExecutionDevice owner;
    private readonly DeviceThreads thread;
    private readonly ConcurrentDictionary<ResidentModel, bool> loaded = new(ReferenceEqualityComparer.Instance);
    private GpuDevice? partition;

    internal GpuGpulet(
        GpuExecutionDevice owner, GpuDevice root, int index, PartitionSpec spec, long memoryBytes, Func<string, IGpulet, bool> hasReplicaElsewhere)
        : base(spec.SmPercent, memoryBytes, new ResidencyOptions(memoryBytes)
        {
            MemoryWait = owner.Options.MemoryWait,
            Policy = owner.Options.Eviction,
            LightModelBytes = owner.Options.LightModelBytes,
        }, hasReplicaElsewhere)
    {
        this.owner = owner;
        thread = new DeviceThreads($"gpulet-{owner.Id}-{index}-{spec.SmPercent}", 1);
        // The first item on the thread: every later one finds the partition made.
        Ready = thread.RunAsync(() =>
        {
            root.Accelerator.Bind();
            partition = root.CreatePartition(spec.SmPercent);
            return partition.Limits;
        });
    }

    /// <summary>Completes with the partition's launch limits once its thread has made it.</summary>
    public Task<LaunchLimits> Ready { get; }

    /// <inheritdoc />
    public override bool CanHold(string model) => owner.WeightBytes(model) is not { } bytes || bytes <= MemoryBudgetBytes;

    /// <summary>The model's device form while it is resident (or swapping in), for tests and benchmarks; null otherwise.</summary>
    public DeviceModel? Resident(string model) =>
        Residency.Contains(model) ? loaded.Keys.FirstOrDefault(r => r.Model.Name == model && !r.IsDisposed)?.Model : null;

    /// <inheritdoc />
    protected override Task<DeviceRunResult> ExecuteAsync(ResidentModel resident, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs) =>
        thread.RunAsync(() => Execute(resident.Model, inputs, outputs));

    /// <summary>A void swap-in (its weights never all landed) takes its copy of the model off the gpulet.</summary>
    protected override bool Discards(Exception failure) => failure is SwapInException;

    /// <inheritdoc />
    protected override Task<(ResidentModel Resident, bool SwappedIn)> AcquireAsync(string model)
    {
        var (graph, packed) = owner.Prepare(model);
        return Residency.AcquireAsync(model, Math.Max(1, packed.Layout.TotalBytes), () => thread.RunAsync(() =>
        {
            var swappedIn = DeviceModel.SwapIn(partition!, model, graph, packed, owner.Memory, owner.Copier, owner.Options.SwapMode, owner.Options.MemoryWait);
            swappedIn.UseCudaGraphs = owner.Options.UseCudaGraphs;
            var resident = new ResidentModel(swappedIn, partition!, loaded);
            loaded[resident] = true;
            // A failed copy voids the swap-in: a model no batch holds leaves now, the others when their batches fail.
            swappedIn.Transfer?.Completion.ContinueWith(
                _ => Residency.TryEvict(model, resident), CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion, TaskScheduler.Default);
            return resident;
        }));
    }

    private static DeviceRunResult Execute(DeviceModel model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs)
    {
        var clock = Stopwatch.StartNew();
        var all = model.Run(inputs);
        var inferNs = clock.Elapsed.Ticks * 100;
        clock.Restart();
        var selected = new NamedTensor[outputs.Count];
        for (var i = 0; i < outputs.Count; i++)
        {
            selected[i] = Array.Find(all, o => o.Name == outputs[i])
                ?? throw new ModelPlanException($"the model has no output named '{outputs[i]}'");
        }
        return new DeviceRunResult(selected, 0, inferNs, clock.Elapsed.Ticks * 100, SwappedIn: false);
    }

    /// <summary>True once disposed (a repartition retired it).</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Finishes queued batches, evicts every model (freeing its memory) and releases the partition.</summary>
    public override void Dispose()
    {
        IsDisposed = true;
        thread.RunAsync(() =>
        {
            // Behind every batch already queued here, so no model is disposed under a running kernel.
            Residency.Clear();
            // Models whose eviction is still queued behind a swap-in go now, before the partition does.
            foreach (var resident in loaded.Keys)
            {
                resident.Dispose();
            }
            partition?.Dispose();
            return true;
        });
        thread.Dispose();
    }

    /// <summary>
    /// What residency holds. Eviction disposes it on the evicting thread (bound to the accelerator first), not the
    /// gpulet's, so a swap-in waiting for the memory on the gpulet's thread is never blocked by its own queue.
    /// </summary>
    public sealed class ResidentModel : IDisposable
    {
        private readonly GpuDevice device;
        private readonly ConcurrentDictionary<ResidentModel, bool> loaded;
        private int disposed;

        internal ResidentModel(DeviceModel model, GpuDevice device, ConcurrentDictionary<ResidentModel, bool> loaded)
        {
            Model = model;
            this.device = device;
            this.loaded = loaded;
        }

        /// <summary>The model on the device.</summary>
        public DeviceModel Model { get; }

        /// <summary>True once evicted.</summary>
        public bool IsDisposed => Volatile.Read(ref disposed) != 0;

        /// <summary>Frees the model's device memory, on the calling thread (bound to the accelerator first).</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0)
            {
                return;
            }
            device.Accelerator.Bind();
            Model.Dispose();
            loaded.TryRemove(this, out _);
        }
    }
}
