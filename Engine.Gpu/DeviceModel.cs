using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Engine.Memory;
using OrleansServe.Onnx;
using OrleansServe.Tensors;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// A model resident on a <see cref="GpuDevice"/>: its weights on the device (uploaded into a buffer of its own, or
/// swapped into a block of the device's reserved memory one transfer group at a time), and per input shape a
/// compiled plan (the layer list lowered to kernel launches over a planned workspace), so a forward pass only copies
/// inputs in, launches kernels and copies outputs out. While a swap-in is still copying, each step first waits for
/// the transfer group its weights are in. Use from the device's (or gpulet's) thread only.
/// </summary>
public sealed class DeviceModel : IDisposable
{
    /// <summary>Integers travel to the device as fp32, which is exact up to this magnitude.</summary>
    private const long ExactIntegerLimit = 1L << 24;

    private readonly GpuDevice device;
    private readonly IModelMemory memory;
    private readonly PackedWeights? packed;
    private readonly WeightTransfer? transfer;
    private readonly ISwapObserver? observer;
    private readonly Dictionary<HostTensor, (long Offset, int Group)> weightOffsets = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, CompiledPlan> plans = new(StringComparer.Ordinal);
    private long plansStamp = -1;

    private DeviceModel(GpuDevice device, OnnxGraph graph)
    {
        this.device = device;
        Name = "model";
        Graph = graph;
        var used = graph.Nodes.SelectMany(n => n.Inputs).ToHashSet(StringComparer.Ordinal);
        var uploaded = graph.Initializers.Where(kv => !kv.Value.IsInteger && used.Contains(kv.Key)).Select(kv => kv.Value).ToList();
        long total = 0;
        foreach (var tensor in uploaded)
        {
            weightOffsets[tensor] = (total, -1);
            total += Align(tensor.ElementCount);
        }
        WeightBytes = total * sizeof(float);
        var owned = new OwnedModelMemory(device, total);
        memory = owned;
        foreach (var tensor in uploaded)
        {
            owned.Weights(weightOffsets[tensor].Offset, tensor.ElementCount).CopyFromCPU(device.Stream, tensor.Floats!);
        }
        device.Synchronize();
    }

    private DeviceModel(
        GpuDevice device, string name, OnnxGraph optimizedGraph, PackedWeights packed, IModelMemory memory, WeightTransfer? transfer,
        SwapMode mode, ISwapObserver? observer)
    {
        this.device = device;
        this.memory = memory;
        this.packed = packed;
        this.transfer = transfer;
        this.observer = observer;
        Name = name;
        Graph = optimizedGraph;
        Mode = mode;
        WeightBytes = packed.Layout.TotalBytes;
        foreach (var (tensorName, tensor) in optimizedGraph.Initializers)
        {
            if (!tensor.IsInteger && packed.Layout.TryGetSlot(tensorName, out var slot))
            {
                weightOffsets[tensor] = (slot.OffsetElements, slot.Group);
            }
        }
    }

    /// <summary>The model's name in observer calls and messages.</summary>
    public string Name { get; }

    /// <summary>The graph as executed (after <see cref="GraphRewrites.Optimize"/>).</summary>
    public OnnxGraph Graph { get; }

    /// <summary>How a forward pass waits for weights still being swapped in.</summary>
    public SwapMode Mode { get; }

    /// <summary>The swap-in copying this model's weights, or null when they were uploaded at load.</summary>
    public WeightTransfer? Transfer => transfer;

    /// <summary>
    /// Replays each plan's forward pass from a CUDA graph recorded on its first run (CUDA devices only). When
    /// recording fails the plan runs kernel by kernel and <see cref="CudaGraphFailure"/> says why. A graph is
    /// recorded only once the swap-in has completed (its steps must not wait on copy events).
    /// </summary>
    public bool UseCudaGraphs { get; set; }

    /// <summary>Why the last attempt to record a CUDA graph failed, or null.</summary>
    public string? CudaGraphFailure { get; private set; }

    /// <summary>Device bytes of the weights.</summary>
    public long WeightBytes { get; }

    /// <summary>Device bytes of the activation workspace (the largest plan compiled so far).</summary>
    public long WorkspaceBytes => memory.WorkspaceFloats * sizeof(float);

    /// <summary>The weights' block in the device's reserved memory (null when the model has its own buffers).</summary>
    internal ArenaBlock? WeightBlock => (memory as ArenaModelMemory)?.WeightBlock;

    /// <summary>Times the compiled plans were rebuilt because the model's memory moved (arena compaction) or grew.</summary>
    public int Rebinds { get; private set; }

    /// <summary>Optimizes the graph and uploads its weights. Call on the device thread.</summary>
    /// <exception cref="ModelPlanException">The model uses unsupported operators (all listed) or is malformed.</exception>
    public static DeviceModel Load(GpuDevice device, OnnxGraph graph)
    {
        var unsupported = GraphPlanner.FindUnsupported(graph);
        if (unsupported.Count > 0)
        {
            throw new UnsupportedOperatorException(unsupported);
        }
        return new DeviceModel(device, GraphRewrites.Optimize(graph));
    }

    /// <summary>
    /// Swaps a model in from its packed weights: allocates its weights from <paramref name="reserved"/>, starts the
    /// copy of its transfer groups on <paramref name="copier"/> and returns at once, before the weights land.
    /// <paramref name="optimizedGraph"/> must be the graph the weights were packed from (already optimized; it is
    /// not optimized again). Call on a thread bound to the device's accelerator.
    /// </summary>
    /// <exception cref="DeviceMemoryException">The reserved memory has no room, even after compaction and waiting up to <paramref name="memoryWait"/> for blocks being freed.</exception>
    public static DeviceModel SwapIn(
        GpuDevice device, string name, OnnxGraph optimizedGraph, PackedWeights packed, ReservedDeviceMemory reserved, WeightCopier copier,
        SwapMode mode = SwapMode.Pipelined, TimeSpan memoryWait = default)
    {
        var lease = packed.Lease();
        ArenaModelMemory? memory = null;
        try
        {
            memory = new ArenaModelMemory(reserved, packed.Layout.TotalElements, memoryWait);
            WeightTransfer? transfer = null;
            if (memory.WeightBlock is { } block)
            {
                // Pinned until every group has landed: compaction must not move a block a copy is writing.
                block.Pin();
                try
                {
                    transfer = copier.Start(name, packed, lease, reserved.View(block, 0, packed.Layout.TotalElements), () => reserved.Unpin(block));
                }
                catch
                {
                    reserved.Unpin(block);
                    throw;
                }
            }
            else
            {
                lease.Dispose();
            }
            memory.Transfer = transfer;
            return new DeviceModel(device, name, optimizedGraph, packed, memory, transfer, mode, copier.Observer);
        }
        catch
        {
            memory?.Dispose();
            lease.Dispose();
            throw;
        }
    }

    /// <summary>Plans and compiles the model for these input shapes (done on first use of a shape, then cached).</summary>
    public ModelPlan Prepare(IReadOnlyDictionary<string, int[]> inputShapes) => Compile(inputShapes).Plan;

    /// <summary>Runs one forward pass and waits for it.</summary>
    /// <exception cref="ModelPlanException">The inputs do not match the model (names, shapes, types, integer range).</exception>
    public NamedTensor[] Run(IReadOnlyList<NamedTensor> inputs)
    {
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var input in inputs)
        {
            if (!shapes.TryAdd(input.Name, [.. input.Shape.Select(d => checked((int)d))]))
            {
                throw new ModelPlanException($"input '{input.Name}' is given twice");
            }
        }
        foreach (var extra in shapes.Keys.Where(name => Graph.Inputs.All(i => i.Name != name)))
        {
            throw new ModelPlanException($"the model has no input named '{extra}'");
        }
        memory.Pin();
        try
        {
            return RunPinned(inputs, shapes);
        }
        finally
        {
            memory.Unpin();
        }
    }

    private NamedTensor[] RunPinned(IReadOnlyList<NamedTensor> inputs, Dictionary<string, int[]> shapes)
    {
        var compiled = Compile(shapes);
        var plan = compiled.Plan;
        for (var i = 0; i < plan.InputValues.Count; i++)
        {
            var value = plan.InputValues[i];
            var tensor = inputs.First(t => t.Name == value.Name);
            var staging = compiled.InputStaging[i];
            ToFloats(tensor, plan.Inputs[i].ElementType, staging);
            compiled.InputViews[i].CopyFromCPU(device.Stream, staging);
        }
        Forward(compiled);
        var outputs = new NamedTensor[plan.OutputValues.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var value = plan.OutputValues[i];
            var info = plan.Outputs[i];
            float[] data;
            if (value.Root.Constant is { } constant)
            {
                data = constant.ToFloats();
            }
            else
            {
                data = compiled.OutputStaging[i];
                compiled.OutputViews[i].CopyToCPU(device.Stream, data);
            }
            outputs[i] = new NamedTensor(info.Name, info.ElementType, [.. info.Shape.Select(d => (long)d)], FromFloats(data, info.ElementType));
        }
        device.Synchronize();
        return outputs;
    }

    /// <summary>Runs the compiled steps only (inputs already on the device), for benchmarks of the forward pass itself.</summary>
    public void RunStepsOnly(IReadOnlyDictionary<string, int[]> inputShapes)
    {
        memory.Pin();
        try
        {
            Forward(Compile(inputShapes));
            if (memory is ArenaModelMemory)
            {
                // Compaction may move the blocks once unpinned: no kernel may still be using them.
                device.Synchronize();
            }
        }
        finally
        {
            memory.Unpin();
        }
    }

    private void Forward(CompiledPlan compiled)
    {
        var swapping = transfer is { IsComplete: false };
        if (swapping && Mode == SwapMode.TransferThenRun)
        {
            transfer!.WaitAll();
            swapping = false;
        }
        if (swapping || observer is not null)
        {
            // Step by step: each waits for its transfer group (and the observer sees it start).
            RunSteps(compiled);
            return;
        }
        if (UseCudaGraphs && !compiled.GraphFailed && device.Stream is ILGPU.Runtime.Cuda.CudaStream stream)
        {
            if (!compiled.RanPlainly)
            {
                // cuBLAS and the driver set themselves up on a plan's first run, which must not happen inside a capture.
                RunSteps(compiled);
                compiled.RanPlainly = true;
                return;
            }
            if (compiled.Graph is null)
            {
                try
                {
                    compiled.Graph = Native.CudaGraphCapture.Record(stream.StreamPtr, () => RunSteps(compiled));
                }
                catch (Exception e) when (e is InvalidOperationException or ILGPU.Runtime.AcceleratorException or Native.CuBlasException)
                {
                    compiled.GraphFailed = true;
                    CudaGraphFailure = e.Message;
                    RunSteps(compiled);
                    return;
                }
            }
            compiled.Graph.Launch(stream.StreamPtr);
            return;
        }
        RunSteps(compiled);
    }

    private void RunSteps(CompiledPlan compiled)
    {
        for (var i = 0; i < compiled.Steps.Count; i++)
        {
            var needed = compiled.NeededGroups[i];
            var step = i;
            transfer?.WaitFor(needed, device, observer is null ? null : () => observer.StepWaiting(Name, step, needed, System.Diagnostics.Stopwatch.GetTimestamp()));
            observer?.StepStarted(Name, i, needed, System.Diagnostics.Stopwatch.GetTimestamp());
            compiled.Steps[i]();
        }
    }

    /// <summary>Releases the model's device memory: a swap-in still copying is stopped first; nothing is copied back.</summary>
    public void Dispose()
    {
        foreach (var plan in plans.Values)
        {
            plan.Dispose();
        }
        plans.Clear();
        memory.Dispose();
    }

    private CompiledPlan Compile(IReadOnlyDictionary<string, int[]> shapes)
    {
        var key = string.Join(';', Graph.Inputs.Select(i => shapes.TryGetValue(i.Name, out var s) ? string.Join(',', s) : "?"));
        if (memory.Stamp != plansStamp)
        {
            // The weights or workspace moved (compaction) or the workspace grew: every plan's views are stale.
            if (plansStamp >= 0)
            {
                Rebinds++;
            }
            DropPlans();
        }
        if (plans.TryGetValue(key, out var existing))
        {
            return existing;
        }
        var plan = GraphPlanner.Plan(Graph, shapes);
        var floats = plan.WorkspaceBytes / sizeof(float);
        if (memory.WorkspaceFloats < floats)
        {
            // Every plan holds views into the old workspace, which is freed first: drop them before the new one is
            // allocated, so a failed allocation cannot leave a plan writing into freed memory.
            DropPlans();
            memory.GrowWorkspace(Math.Max(floats, 1));
            DropPlans();
        }
        var workspace = memory.Workspace;
        var compiled = new CompiledPlan(plan);
        var lowering = new Lowering(device, workspace, compiled.ConstantView(this));
        foreach (var node in plan.Steps)
        {
            compiled.StepGroup = packed?.GroupNeededBy(node.Node) ?? -1;
            try
            {
                compiled.Steps.Add(node.Operator.Lower(node, lowering));
            }
            catch (ArgumentException e)
            {
                throw node.Error(e.Message);
            }
            compiled.NeededGroups.Add(compiled.StepGroup);
        }
        foreach (var value in plan.InputValues)
        {
            compiled.InputViews.Add(lowering.View(value));
            compiled.InputStaging.Add(new float[value.Elements]);
        }
        foreach (var value in plan.OutputValues)
        {
            var isConstant = value.Root.Constant is not null;
            compiled.OutputViews.Add(isConstant ? default : lowering.View(value));
            compiled.OutputStaging.Add(isConstant ? [] : new float[value.Elements]);
        }
        plans[key] = compiled;
        plansStamp = memory.Stamp;
        return compiled;
    }

    private void DropPlans()
    {
        foreach (var plan in plans.Values)
        {
            plan.Dispose();
        }
        plans.Clear();
        plansStamp = memory.Stamp;
    }

    private static long Align(long elements) => (elements + GraphPlanner.Alignment - 1) / GraphPlanner.Alignment * GraphPlanner.Alignment;

    private static void ToFloats(NamedTensor tensor, ElementType declared, float[] target)
    {
        if (tensor.ElementType != declared)
        {
            throw new ModelPlanException($"input '{tensor.Name}' is {tensor.ElementType.ToKServeName()}, but the model declares {declared.ToKServeName()}");
        }
        var size = tensor.ElementType.ByteSize();
        var bytes = tensor.Data.Span;
        if (bytes.Length != (long)target.Length * size)
        {
            throw new ModelPlanException($"input '{tensor.Name}' holds {bytes.Length} bytes, but its shape needs {(long)target.Length * size}");
        }
        switch (tensor.ElementType)
        {
            case ElementType.Fp32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(target);
                return;
            case ElementType.Fp16:
                for (var i = 0; i < target.Length; i++)
                {
                    target[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
                }
                return;
            case ElementType.Fp64:
                for (var i = 0; i < target.Length; i++)
                {
                    target[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
                }
                return;
            case ElementType.Int64:
                for (var i = 0; i < target.Length; i++)
                {
                    target[i] = ExactInteger(BinaryPrimitives.ReadInt64LittleEndian(bytes[(i * 8)..]), tensor.Name);
                }
                return;
            case ElementType.Int32:
                for (var i = 0; i < target.Length; i++)
                {
                    target[i] = ExactInteger(BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]), tensor.Name);
                }
                return;
            case ElementType.Bool or ElementType.UInt8:
                for (var i = 0; i < target.Length; i++)
                {
                    target[i] = bytes[i];
                }
                return;
            default:
                throw new ModelPlanException($"input '{tensor.Name}' is {tensor.ElementType.ToKServeName()}, which the GPU engine does not accept");
        }
    }

    private static float ExactInteger(long value, string name) =>
        Math.Abs(value) <= ExactIntegerLimit
            ? value
            : throw new ModelPlanException($"input '{name}' holds {value}; the GPU engine carries integers as fp32 and accepts magnitudes up to 2^24");

    private static byte[] FromFloats(float[] data, ElementType type)
    {
        switch (type)
        {
            case ElementType.Fp32:
                return MemoryMarshal.AsBytes(data.AsSpan()).ToArray();
            case ElementType.Int64:
                var longs = Array.ConvertAll(data, v => (long)v);
                return MemoryMarshal.AsBytes(longs.AsSpan()).ToArray();
            case ElementType.Int32:
                var ints = Array.ConvertAll(data, v => (int)v);
                return MemoryMarshal.AsBytes(ints.AsSpan()).ToArray();
            case ElementType.Fp16:
                var halves = Array.ConvertAll(data, v => (System.Half)v);
                return MemoryMarshal.AsBytes(halves.AsSpan()).ToArray();
            case ElementType.Fp64:
                var doubles = Array.ConvertAll(data, v => (double)v);
                return MemoryMarshal.AsBytes(doubles.AsSpan()).ToArray();
            default:
                throw new ModelPlanException($"output type {type.ToKServeName()} is not produced by the GPU engine");
        }
    }

    /// <summary>A plan lowered to kernel launches, with its constants, host staging buffers and input/output views.</summary>
    private sealed class CompiledPlan(ModelPlan plan) : IDisposable
    {
        private readonly List<MemoryBuffer1D<float, Stride1D.Dense>> constants = [];
        private readonly ConditionalWeakTable<HostTensor, MemoryBuffer1D<float, Stride1D.Dense>> uploaded = [];

        public ModelPlan Plan { get; } = plan;

        public List<Action> Steps { get; } = [];

        /// <summary>Per step, the highest transfer group its weights are in (−1: none).</summary>
        public List<int> NeededGroups { get; } = [];

        /// <summary>The group needed by the step being lowered, raised by every weight it views.</summary>
        public int StepGroup { get; set; } = -1;

        /// <summary>The forward pass recorded as a CUDA graph, once recorded.</summary>
        public Native.CudaGraphCapture? Graph { get; set; }

        public bool GraphFailed { get; set; }

        /// <summary>Whether the plan ran once kernel by kernel, which comes before recording it.</summary>
        public bool RanPlainly { get; set; }

        public List<ArrayView<float>> InputViews { get; } = [];

        public List<float[]> InputStaging { get; } = [];

        public List<ArrayView<float>> OutputViews { get; } = [];

        public List<float[]> OutputStaging { get; } = [];

        /// <summary>Weights come from the model's memory; other constants are uploaded once for this plan.</summary>
        public Func<HostTensor, ArrayView<float>> ConstantView(DeviceModel model) => tensor =>
        {
            if (model.weightOffsets.TryGetValue(tensor, out var weight))
            {
                StepGroup = Math.Max(StepGroup, weight.Group);
                return model.memory.Weights(weight.Offset, tensor.ElementCount);
            }
            if (!uploaded.TryGetValue(tensor, out var buffer))
            {
                buffer = model.device.Accelerator.Allocate1D<float>(Math.Max(1, tensor.ElementCount));
                if (tensor.ElementCount > 0)
                {
                    buffer.View.SubView(0, tensor.ElementCount).CopyFromCPU(model.device.Stream, tensor.ToFloats());
                }
                uploaded.Add(tensor, buffer);
                constants.Add(buffer);
            }
            return buffer.View.SubView(0, tensor.ElementCount);
        };

        public void Dispose()
        {
            Graph?.Dispose();
            foreach (var buffer in constants)
            {
                buffer.Dispose();
            }
        }
    }
}
