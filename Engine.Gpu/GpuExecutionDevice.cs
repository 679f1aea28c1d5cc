using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Engine.Memory;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu;

/// <summary>Settings of a <see cref="GpuExecutionDevice"/>.</summary>
public sealed record GpuExecutionOptions
{
    /// <summary>On CUDA, the fraction of the device's free memory reserved at start (when <see cref="ReservedBytes"/> is 0).</summary>
    public double ReservedFraction { get; init; } = 0.9;

    /// <summary>What ilgpu-cpu reserves when <see cref="ReservedBytes"/> is 0 (it has no free-memory query).</summary>
    public const long IlgpuCpuDefaultReservedBytes = 256L << 20;

    /// <summary>
    /// Bytes reserved at start. 0 (the default) reserves <see cref="ReservedFraction"/> of the free memory on CUDA and
    /// <see cref="IlgpuCpuDefaultReservedBytes"/> on ilgpu-cpu.
    /// </summary>
    public long ReservedBytes { get; init; }

    /// <summary>The fraction of the reserved memory kept for activation workspaces; the rest is the budget for resident weights.</summary>
    public double WorkspaceFraction { get; init; } = 0.25;

    /// <summary>Which resident models go first when a gpulet needs room.</summary>
    public EvictionPolicy Eviction { get; init; } = EvictionPolicy.Lru;

    /// <summary>Models of at most this many bytes are light under <see cref="EvictionPolicy.Torpor"/>.</summary>
    public long LightModelBytes { get; init; } = ResidencyOptions.DefaultLightModelBytes;

    /// <summary>How long a swap-in waits for memory held by batches in flight (or being freed) before it is refused.</summary>
    public TimeSpan MemoryWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether the first batch of a swapped-in model starts before its last weights land.</summary>
    public SwapMode SwapMode { get; init; } = SwapMode.Pipelined;

    /// <summary>The first split into gpulets; the whole device as one when null.</summary>
    public IReadOnlyList<PartitionSpec>? Partitions { get; init; }

    /// <summary>Replays forward passes as CUDA graphs once a model's swap-in has completed (CUDA only).</summary>
    public bool UseCudaGraphs { get; init; }

    /// <summary>Sees groups land and steps start (tests, benchmarks); null for none.</summary>
    public ISwapObserver? Observer { get; init; }

    /// <summary>Holds transfer groups back until released (tests; ilgpu-cpu only); null for none.</summary>
    public TransferGate? TransferGate { get; init; }
}

/// <summary>
/// A GPU (or ILGPU's CPU accelerator) as an execution device: it reserves its memory once at start, splits its
/// compute into gpulets (<see cref="GpuGpulet"/>, routed by a <see cref="GpuletSet"/>), and swaps models in from the
/// host weight store's packed weights with pipelined copies. A model the GPU engine cannot run (no packed weights,
/// or operators it lacks) is refused with the reason.
/// </summary>
public sealed class GpuExecutionDevice : GpuletDevice
{
    private readonly HostWeightStore weights;
    private readonly DeviceThreads rootThread;
    private readonly GpuDevice root;
    private readonly Lock graphsGate = new();
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<PackedWeights, OnnxGraph> graphs = [];
    private readonly List<GpuGpulet> created = [];

    private GpuExecutionDevice(
        string id, GpuExecutionOptions options, HostWeightStore weights, DeviceThreads rootThread, GpuDevice root, ReservedDeviceMemory memory, WeightCopier copier)
        : base(id, (long)(memory.CapacityBytes * (1 - options.WorkspaceFraction)))
    {
        Options = options;
        this.weights = weights;
        this.rootThread = rootThread;
        this.root = root;
        Memory = memory;
        Copier = copier;
        Name = $"{root.KindName}: {root.Name} ({memory.CapacityBytes >> 20} MiB reserved, gemm {root.Gemm.Name})";
        var index = 0;
        MakeGpulets((spec, bytes, hasReplicaElsewhere) =>
        {
            var gpulet = new GpuGpulet(this, root, index++, spec, bytes, hasReplicaElsewhere);
            lock (graphsGate)
            {
                created.RemoveAll(g => g.IsDisposed);
                created.Add(gpulet);
            }
            return gpulet;
        }, options.Partitions);
    }

    /// <summary>
    /// Creates the device on a thread of its own, reserves its memory and starts its copy thread and gpulets.
    /// </summary>
    /// <param name="id">Identifier within the process, e.g. "gpu0".</param>
    /// <param name="kind">CUDA, or ILGPU's CPU accelerator.</param>
    /// <param name="ordinal">Which CUDA device.</param>
    /// <param name="weights">Where models' packed weights come from (the store must pack for devices).</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <exception cref="NotSupportedException">The kind of device is not present.</exception>
    public static async Task<GpuExecutionDevice> StartAsync(string id, GpuDeviceKind kind, int ordinal, HostWeightStore weights, GpuExecutionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        options ??= new GpuExecutionOptions();
        if (options.WorkspaceFraction is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"the workspace fraction must be in [0, 1), not {options.WorkspaceFraction}");
        }
        var thread = new DeviceThreads($"gpu-{id}", 1);
        try
        {
            // Streams and buffers are made on the device's thread, where its context is current.
            var (device, memory, copier) = await thread.RunAsync(() =>
            {
                var created = GpuDevice.Create(kind, ordinal);
                try
                {
                    created.Accelerator.Bind();
                    var reserved = new ReservedDeviceMemory(created, ReservedBytes(created, options));
                    return (created, reserved, new WeightCopier(created, options.Observer, options.TransferGate));
                }
                catch
                {
                    created.Dispose();
                    throw;
                }
            }).ConfigureAwait(false);
            return new GpuExecutionDevice(id, options, weights, thread, device, memory, copier);
        }
        catch
        {
            thread.Dispose();
            throw;
        }
    }

    /// <summary>"cuda" or "ilgpu-cpu".</summary>
    public override string Kind => root.KindName;

    /// <inheritdoc />
    public override string Name { get; }

    /// <summary>Why the device runs the ILGPU GEMM rather than cuBLAS on CUDA (every place probed for cuBLAS), or null.</summary>
    public string? GemmFallbackReason => root.GemmFallbackReason;

    /// <summary>The settings the device runs with.</summary>
    public GpuExecutionOptions Options { get; }

    /// <summary>The memory reserved at start.</summary>
    public ReservedDeviceMemory Memory { get; }

    /// <summary>The copy engine (how many groups it has copied, for tests and benchmarks).</summary>
    public WeightCopier Copier { get; }

    /// <summary>The gpulets now, in partition order.</summary>
    public IReadOnlyList<GpuGpulet> Gpulets
    {
        get
        {
            lock (graphsGate)
            {
                return [.. created.Where(g => !g.IsDisposed)];
            }
        }
    }

    /// <summary>Makes this device's context current on the calling thread (CUDA host-memory registration needs one).</summary>
    public void BindCurrentThread() => root.Accelerator.Bind();

    /// <summary>
    /// The model's optimized graph and packed weights, read and optimized once per packing (a model replaced in the
    /// store is read again). Throws <see cref="ModelPlanException"/> when the model cannot run on the GPU engine.
    /// </summary>
    /// <summary>Device bytes of a model's packed weights, or null when the store has not packed it.</summary>
    internal long? WeightBytes(string model) => weights.TryGetPacked(model, out var packed) && packed is not null ? packed.Layout.TotalBytes : null;

    /// <summary>
    /// The model's optimized graph and packed weights (see the remarks above).
    /// </summary>
    internal (OnnxGraph Graph, PackedWeights Packed) Prepare(string model)
    {
        if (!weights.TryGetPacked(model, out var packed) || packed is null)
        {
            if (!weights.TryGet(model, out _))
            {
                throw new InvalidOperationException($"model '{model}' has no weights in this process's host memory");
            }
            throw new ModelPlanException(
                $"model '{model}' cannot run on the GPU engine: {weights.PackingFailure(model) ?? "its weights were not packed for devices (the host weight store does not pack)"}");
        }
        if (graphs.TryGetValue(packed, out var cached))
        {
            return (cached, packed);
        }
        if (!weights.TryGet(model, out var onnx))
        {
            throw new InvalidOperationException($"model '{model}' has no weights in this process's host memory");
        }
        // The same rewrites the store packed from, so tensor names match the layout; done once per packing, not per
        // swap-in. Keyed weakly by the packing: a model unloaded or replaced in the store takes its graph with it.
        var graph = graphs.GetValue(packed, _ => GraphRewrites.Optimize(OnnxGraph.Read(onnx)));
        return (graph, packed);
    }

    private static long ReservedBytes(GpuDevice device, GpuExecutionOptions options)
    {
        if (options.ReservedBytes > 0)
        {
            return options.ReservedBytes;
        }
        if (device.Kind != GpuDeviceKind.Cuda)
        {
            return GpuExecutionOptions.IlgpuCpuDefaultReservedBytes;
        }
        if (options.ReservedFraction is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"the reserved fraction must be in (0, 1], not {options.ReservedFraction}");
        }
        var (free, _) = Native.CudaDriverApi.Load().GetMemoryInfo();
        return (long)(free * options.ReservedFraction);
    }

    /// <summary>True once <see cref="Dispose"/> has begun.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Finishes batches in flight, evicts every model, then releases the memory and the device.</summary>
    public override void Dispose()
    {
        IsDisposed = true;
        base.Dispose();
        Copier.Dispose();
        rootThread.RunAsync(() =>
        {
            Memory.Dispose();
            root.Dispose();
            return true;
        }).GetAwaiter().GetResult();
        rootThread.Dispose();
    }
}
