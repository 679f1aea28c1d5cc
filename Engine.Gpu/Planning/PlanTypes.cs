using OrleansServe.Onnx;
using OrleansServe.Tensors;

namespace OrleansServe.Engine.Gpu.Planning;

/// <summary>A value of a planned graph: its concrete shape, and either host data (a constant) or a place in device memory.</summary>
internal sealed class PlanValue(string name, int[] shape)
{
    public string Name { get; } = name;

    public int[] Shape { get; set; } = shape;

    /// <summary>Host data when the value is known at plan time (initializer, constant, folded).</summary>
    public HostTensor? Constant { get; set; }

    /// <summary>True for initializers: weights that are uploaded once and counted as the model's weight bytes.</summary>
    public bool IsWeight { get; init; }

    /// <summary>The value whose storage this one shares (reshape-like operators); null when it owns storage.</summary>
    public PlanValue? AliasOf { get; set; }

    /// <summary>The element type the graph declares for it (the device computes in fp32 whatever it is).</summary>
    public ElementType DeclaredType { get; set; } = ElementType.Fp32;

    /// <summary>Float offset in the workspace (activations) once the workspace is planned.</summary>
    public long Offset { get; set; } = -1;

    /// <summary>Float offset in the weight or constant buffer once uploaded.</summary>
    public long ConstantOffset { get; set; } = -1;

    /// <summary>Index of the last step that reads the value (activations).</summary>
    public int LastUse { get; set; } = -1;

    public long Elements => Shape.Aggregate(1L, (product, d) => product * d);

    /// <summary>The value that owns the storage (itself unless it aliases).</summary>
    public PlanValue Root => AliasOf?.Root ?? this;
}

/// <summary>A node being planned: its operator, its inputs and outputs as plan values, and its scratch space.</summary>
internal sealed class PlanNode(GraphNode node, Operator op, PlanValue?[] inputs, PlanValue[] outputs)
{
    public GraphNode Node { get; } = node;

    public Operator Operator { get; } = op;

    /// <summary>Inputs; null where an optional input is omitted.</summary>
    public PlanValue?[] Inputs { get; } = inputs;

    public PlanValue[] Outputs { get; } = outputs;

    /// <summary>Floats of temporary workspace the step needs while it runs (e.g. im2col columns).</summary>
    public long ScratchFloats { get; set; }

    /// <summary>Workspace offset of the scratch space.</summary>
    public long ScratchOffset { get; set; } = -1;

    /// <summary>Operator-specific facts computed at inference and reused at lowering.</summary>
    public object? State { get; set; }

    public NodeAttributes Attributes => Node.Attributes;

    /// <summary>The model's default operator set version (some operators changed meaning across versions).</summary>
    public long Opset { get; init; } = Onnx.OnnxGraphBuilder.DefaultOpsetVersion;

    public int InputCount => Inputs.Length;

    public bool HasInput(int index) => index < Inputs.Length && Inputs[index] is not null;

    public PlanValue Input(int index) =>
        HasInput(index) ? Inputs[index]! : throw Error($"input {index} is required");

    public int[] InputShape(int index) => Input(index).Shape;

    /// <summary>The constant data of an input, or null when it is only known at run time.</summary>
    public HostTensor? ConstantInput(int index) => HasInput(index) ? Inputs[index]!.Constant : null;

    /// <summary>The constant data of an input the operator needs at plan time (e.g. a Reshape target).</summary>
    public HostTensor RequireConstant(int index, string what) =>
        ConstantInput(index) ?? throw Error($"{what} (input {index}) must be known when the model is planned; computing it at run time is not supported");

    public bool AllInputsConstant => Inputs.All(i => i is null || i.Constant is not null);

    public ModelPlanException Error(string message) => new($"{Node.Describe()}: {message}");

    /// <summary>Sets an output's shape.</summary>
    public void SetOutput(int index, int[] shape)
    {
        if (index < Outputs.Length)
        {
            Outputs[index].Shape = shape;
        }
    }

    /// <summary>Sets an output to a plan-time constant.</summary>
    public void SetConstantOutput(int index, HostTensor value)
    {
        if (index < Outputs.Length)
        {
            Outputs[index].Shape = value.Shape;
            Outputs[index].Constant = value;
        }
    }
}

/// <summary>
/// One ONNX operator: shape inference, folding when inputs are constant, cost, and lowering to device work.
/// Implementations are stateless; per-node facts go in <see cref="PlanNode.State"/>.
/// </summary>
internal abstract class Operator
{
    /// <summary>Checks inputs and attributes and sets output shapes; may set constant outputs (folding).</summary>
    public abstract void Infer(PlanNode node);

    /// <summary>True when the output shares the input's storage (reshape-like): no device work.</summary>
    public virtual bool IsAlias => false;

    /// <summary>Floating-point operations at the planned shapes (multiply-add counts as two).</summary>
    public virtual long Flops(PlanNode node) => node.Outputs.Sum(o => o.Elements);

    /// <summary>Enqueues the node's work; called once per plan, the returned action runs on every forward pass.</summary>
    public abstract Action Lower(PlanNode node, Gpu.Lowering lowering);
}
