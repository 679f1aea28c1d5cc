using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Planning;
using OrleansServe.Engine.Tensors;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// A model resident on a <see cref="GpuDevice"/>: its weights uploaded once into one device buffer, and per input
/// shape a compiled plan (the layer list lowered to kernel launches over a planned workspace), so a forward pass
/// only copies inputs in, launches kernels and copies outputs out. Use from the device's thread only.
/// </summary>
public sealed class DeviceModel : IDisposable
{
    /// <summary>Integers travel to the device as fp32, which is exact up to this magnitude.</summary>
    private const long ExactIntegerLimit = 1L << 24;

    private readonly GpuDevice device;
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? weights;
    private readonly Dictionary<HostTensor, long> weightOffsets = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, CompiledPlan> plans = new(StringComparer.Ordinal);
    private MemoryBuffer1D<float, Stride1D.Dense>? workspace;

    private DeviceModel(GpuDevice device, OnnxGraph graph)
    {
        this.device = device;
        Graph = graph;
        var used = graph.Nodes.SelectMany(n => n.Inputs).ToHashSet(StringComparer.Ordinal);
        var uploaded = graph.Initializers.Where(kv => !kv.Value.IsInteger && used.Contains(kv.Key)).Select(kv => kv.Value).ToList();
        long total = 0;
        foreach (var tensor in uploaded)
        {
            weightOffsets[tensor] = total;
            total += Align(tensor.ElementCount);
        }
        WeightBytes = total * sizeof(float);
        if (total > 0)
        {
            weights = device.Accelerator.Allocate1D<float>(total);
            foreach (var tensor in uploaded)
            {
                weights.View.SubView(weightOffsets[tensor], tensor.ElementCount).CopyFromCPU(device.Stream, tensor.Floats!);
            }
            device.Synchronize();
        }
    }

    /// <summary>The graph as executed (after <see cref="GraphRewrites.Optimize"/>).</summary>
    public OnnxGraph Graph { get; }

    /// <summary>
    /// Replays each plan's forward pass from a CUDA graph recorded on its first run (CUDA devices only). When
    /// recording fails the plan runs kernel by kernel and <see cref="CudaGraphFailure"/> says why.
    /// </summary>
    public bool UseCudaGraphs { get; set; }

    /// <summary>Why the last attempt to record a CUDA graph failed, or null.</summary>
    public string? CudaGraphFailure { get; private set; }

    /// <summary>Device bytes of the uploaded weights.</summary>
    public long WeightBytes { get; }

    /// <summary>Device bytes of the activation workspace (the largest plan compiled so far).</summary>
    public long WorkspaceBytes => (workspace?.Length ?? 0) * sizeof(float);

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
    public void RunStepsOnly(IReadOnlyDictionary<string, int[]> inputShapes) => Forward(Compile(inputShapes));

    private void Forward(CompiledPlan compiled)
    {
        if (UseCudaGraphs && !compiled.GraphFailed && device.Stream is ILGPU.Runtime.Cuda.CudaStream stream)
        {
            if (compiled.Graph is null)
            {
                try
                {
                    compiled.Graph = Native.CudaGraphCapture.Record(stream.StreamPtr, () => RunSteps(compiled));
                }
                catch (Exception e) when (e is InvalidOperationException or ILGPU.Runtime.AcceleratorException)
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

    private static void RunSteps(CompiledPlan compiled)
    {
        foreach (var step in compiled.Steps)
        {
            step();
        }
    }

    public void Dispose()
    {
        foreach (var plan in plans.Values)
        {
            plan.Dispose();
        }
        workspace?.Dispose();
        weights?.Dispose();
    }

    private CompiledPlan Compile(IReadOnlyDictionary<string, int[]> shapes)
    {
        var key = string.Join(';', Graph.Inputs.Select(i => shapes.TryGetValue(i.Name, out var s) ? string.Join(',', s) : "?"));
        if (plans.TryGetValue(key, out var existing) && existing.Workspace == workspace)
        {
            return existing;
        }
        var plan = GraphPlanner.Plan(Graph, shapes);
        var floats = plan.WorkspaceBytes / sizeof(float);
        if (workspace is null || workspace.Length < floats)
        {
            // Plans compiled against the smaller workspace are recompiled on their next use.
            workspace?.Dispose();
            workspace = device.Accelerator.Allocate1D<float>(Math.Max(floats, 1));
        }
        existing?.Dispose();
        var compiled = new CompiledPlan(plan, workspace);
        var lowering = new Lowering(device, workspace.View, compiled.ConstantView(this));
        foreach (var node in plan.Steps)
        {
            try
            {
                compiled.Steps.Add(node.Operator.Lower(node, lowering));
            }
            catch (ArgumentException e)
            {
                throw node.Error(e.Message);
            }
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
        return compiled;
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
    private sealed class CompiledPlan(ModelPlan plan, MemoryBuffer1D<float, Stride1D.Dense> workspace) : IDisposable
    {
        private readonly List<MemoryBuffer1D<float, Stride1D.Dense>> constants = [];
        private readonly ConditionalWeakTable<HostTensor, MemoryBuffer1D<float, Stride1D.Dense>> uploaded = [];

        public ModelPlan Plan { get; } = plan;

        public MemoryBuffer1D<float, Stride1D.Dense> Workspace { get; } = workspace;

        public List<Action> Steps { get; } = [];

        /// <summary>The forward pass recorded as a CUDA graph, once recorded.</summary>
        public Native.CudaGraphCapture? Graph { get; set; }

        public bool GraphFailed { get; set; }

        public List<ArrayView<float>> InputViews { get; } = [];

        public List<float[]> InputStaging { get; } = [];

        public List<ArrayView<float>> OutputViews { get; } = [];

        public List<float[]> OutputStaging { get; } = [];

        /// <summary>Weights come from the model's buffer; other constants are uploaded once for this plan.</summary>
        public Func<HostTensor, ArrayView<float>> ConstantView(DeviceModel model) => tensor =>
        {
            if (model.weightOffsets.TryGetValue(tensor, out var offset))
            {
                return model.weights!.View.SubView(offset, tensor.ElementCount);
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
