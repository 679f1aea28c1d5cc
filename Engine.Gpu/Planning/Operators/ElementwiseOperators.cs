using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Kernels;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning.Operators;

/// <summary>Relu, Sigmoid, Tanh, Erf, Sqrt and the other one-input element-wise functions; folded on the host when the input is constant.</summary>
internal sealed class UnaryOperator(UnaryOp op) : Operator
{
    public override void Infer(PlanNode node)
    {
        var (p0, p1) = Parameters(node);
        node.State = (p0, p1);
        var x = node.Input(0);
        if (x.Constant is { } constant)
        {
            var values = constant.ToFloats();
            node.SetConstantOutput(0, HostTensor.OfFloats(constant.Shape, Array.ConvertAll(values, v => ElementwiseKernels.Apply(op, v, p0, p1))));
            return;
        }
        node.SetOutput(0, x.Shape);
    }

    public override long Flops(PlanNode node) => node.Outputs[0].Elements * (op is UnaryOp.Relu or UnaryOp.Copy ? 1 : 8);

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var (p0, p1) = ((float, float))node.State!;
        return lowering.Unary(lowering.View(node.Input(0)), lowering.View(node.Outputs[0]), op, p0, p1);
    }

    private (float P0, float P1) Parameters(PlanNode node)
    {
        switch (op)
        {
            case UnaryOp.Clip:
                // Opset 11 moved min and max from attributes to optional inputs.
                var min = node.HasInput(1) ? (float)node.RequireConstant(1, "min")[0] : node.Attributes.Float("min", float.NegativeInfinity);
                var max = node.HasInput(2) ? (float)node.RequireConstant(2, "max")[0] : node.Attributes.Float("max", float.PositiveInfinity);
                return (min, max);
            case UnaryOp.HardSigmoid:
                return (node.Attributes.Float("alpha", 0.2f), node.Attributes.Float("beta", 0.5f));
            default:
                return (0, 0);
        }
    }

    /// <summary>The activation a Conv or Gemm can apply in its epilogue instead of this node, if any.</summary>
    internal static FusedActivation? AsFusable(GraphNode node, IReadOnlyDictionary<string, HostTensor> initializers)
    {
        switch (node.OpType)
        {
            case "Relu":
                return new FusedActivation(ActivationOp.Relu, 0, 0);
            case "Clip":
                float Bound(int index, string attribute, float fallback)
                {
                    if (index < node.Inputs.Length && node.Inputs[index].Length > 0)
                    {
                        return initializers.TryGetValue(node.Inputs[index], out var t) ? (float)t[0] : float.NaN;
                    }
                    return node.Attributes.Float(attribute, fallback);
                }
                var min = Bound(1, "min", float.NegativeInfinity);
                var max = Bound(2, "max", float.PositiveInfinity);
                return float.IsNaN(min) || float.IsNaN(max) ? null : new FusedActivation(ActivationOp.Clip, min, max);
            default:
                return null;
        }
    }
}

/// <summary>Gelu (opset 20): exact (erf) or tanh approximation.</summary>
internal sealed class GeluOperator : Operator
{
    public override void Infer(PlanNode node)
    {
        var approximate = node.Attributes.String("approximate", "none");
        node.State = approximate switch
        {
            "none" => UnaryOp.Gelu,
            "tanh" => UnaryOp.GeluTanh,
            _ => throw node.Error($"approximate='{approximate}' is not one of none, tanh"),
        };
        node.SetOutput(0, node.InputShape(0));
    }

    public override long Flops(PlanNode node) => node.Outputs[0].Elements * 10;

    public override Action Lower(PlanNode node, Lowering lowering) =>
        lowering.Unary(lowering.View(node.Input(0)), lowering.View(node.Outputs[0]), (UnaryOp)node.State!);
}

/// <summary>Add, Sub, Mul, Div and Pow with numpy broadcasting; integer constants fold with integer arithmetic.</summary>
internal sealed class BinaryOperator(BinaryOp op) : Operator
{
    public override void Infer(PlanNode node)
    {
        var a = node.Input(0);
        var b = node.Input(1);
        var shape = ShapeMath.Broadcast(a.Shape, b.Shape, node);
        if (a.Constant is { } ca && b.Constant is { } cb)
        {
            var folded = Fold(ca, cb, shape);
            var activation = node.Node.Activation;
            if (!activation.IsNone)
            {
                folded = HostTensor.OfFloats(shape, Array.ConvertAll(folded.ToFloats(), v => ElementwiseKernels.Apply(activation.Unary(), v, activation.P0, activation.P1)));
            }
            node.SetConstantOutput(0, folded);
            return;
        }
        node.SetOutput(0, shape);
    }

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var a = node.Input(0);
        var b = node.Input(1);
        var y = node.Outputs[0];
        return lowering.Binary(lowering.View(a), a.Shape, lowering.View(b), b.Shape, lowering.View(y), y.Shape, op, node.Node.Activation);
    }

    private HostTensor Fold(HostTensor a, HostTensor b, int[] shape)
    {
        // Broadcast both operands to the output shape first (the strided read the data-movement folds use).
        a = HostCopy.Read(a, shape, ShapeMath.BroadcastStrides(a.Shape, shape), 0);
        b = HostCopy.Read(b, shape, ShapeMath.BroadcastStrides(b.Shape, shape), 0);
        var count = ShapeMath.Count(shape);
        if (a.IsInteger && b.IsInteger)
        {
            var la = a.Longs!;
            var lb = b.Longs!;
            var result = new long[count];
            for (long i = 0; i < count; i++)
            {
                var x = la[i];
                var y = lb[i];
                result[i] = op switch
                {
                    BinaryOp.Add => x + y,
                    BinaryOp.Sub => x - y,
                    BinaryOp.Mul => x * y,
                    BinaryOp.Div => y == 0 ? 0 : x / y,
                    _ => (long)Math.Pow(x, y),
                };
            }
            return HostTensor.OfLongs(shape, result);
        }
        var fa = a.ToFloats();
        var fb = b.ToFloats();
        var floats = new float[count];
        for (long i = 0; i < count; i++)
        {
            floats[i] = ElementwiseKernels.Apply(op, fa[i], fb[i]);
        }
        return HostTensor.OfFloats(shape, floats);
    }
}
