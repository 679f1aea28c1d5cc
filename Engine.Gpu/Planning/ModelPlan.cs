using OrleansServe.Onnx;
using OrleansServe.Tensors;

namespace OrleansServe.Engine.Gpu.Planning;

/// <summary>One layer of a planned model: what the scheduler and the interference model read about it.</summary>
/// <param name="WeightBytes">Bytes of constant inputs (weights) the layer reads.</param>
/// <param name="ActivationBytes">Bytes of the outputs it writes.</param>
/// <param name="Flops">Floating-point operations (a multiply-add counts as two).</param>
public sealed record LayerInfo(string Name, string OpType, int[][] InputShapes, int[][] OutputShapes, long WeightBytes, long ActivationBytes, long Flops);

/// <summary>A declared input or output at planned (concrete) shape.</summary>
public sealed record PlannedTensor(string Name, ElementType ElementType, int[] Shape);

/// <summary>
/// A model planned for concrete input shapes: the layers that run, in order, with their costs, and the
/// workspace that holds every activation (buffers are reused once their value is dead).
/// </summary>
public sealed class ModelPlan
{
    internal ModelPlan(
        IReadOnlyList<PlanNode> steps,
        IReadOnlyList<PlanValue> inputs,
        IReadOnlyList<PlanValue> outputs,
        IReadOnlyList<PlannedTensor> inputInfo,
        IReadOnlyList<PlannedTensor> outputInfo,
        long workspaceFloats,
        long naiveActivationFloats)
    {
        Steps = steps;
        InputValues = inputs;
        OutputValues = outputs;
        Inputs = inputInfo;
        Outputs = outputInfo;
        WorkspaceBytes = workspaceFloats * sizeof(float);
        UnplannedActivationBytes = naiveActivationFloats * sizeof(float);
        Layers = [.. steps.Select(Describe)];
    }

    internal IReadOnlyList<PlanNode> Steps { get; }

    internal IReadOnlyList<PlanValue> InputValues { get; }

    internal IReadOnlyList<PlanValue> OutputValues { get; }

    /// <summary>The layers that do device work, in execution order (reshapes and folded constants are not layers).</summary>
    public IReadOnlyList<LayerInfo> Layers { get; }

    public IReadOnlyList<PlannedTensor> Inputs { get; }

    public IReadOnlyList<PlannedTensor> Outputs { get; }

    /// <summary>Device bytes of the activation workspace (inputs, outputs, intermediates, scratch) with buffer reuse.</summary>
    public long WorkspaceBytes { get; }

    /// <summary>What the activations would take without reuse, for comparison.</summary>
    public long UnplannedActivationBytes { get; }

    /// <summary>Total floating-point operations of one forward pass.</summary>
    public long Flops => Layers.Sum(l => l.Flops);

    private static LayerInfo Describe(PlanNode node) => new(
        node.Node.Name,
        node.Node.OpType,
        [.. node.Inputs.Where(i => i is not null).Select(i => i!.Shape)],
        [.. node.Outputs.Select(o => o.Shape)],
        node.Inputs.Where(i => i?.Constant is not null).Sum(i => i!.Elements * sizeof(float)),
        node.Outputs.Sum(o => o.Elements * sizeof(float)),
        node.Operator.Flops(node));
}
