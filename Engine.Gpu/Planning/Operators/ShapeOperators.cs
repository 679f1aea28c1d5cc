using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Kernels;
using OrleansServe.Onnx;
using OrleansServe.Tensors;

namespace OrleansServe.Engine.Gpu.Planning.Operators;

/// <summary>
/// Operators that only change how a value's elements are indexed (Reshape, Flatten, Squeeze, Unsqueeze, Identity,
/// Dropout, Cast to a float type): the output shares the input's storage, or is a reshaped constant.
/// </summary>
internal abstract class AliasOperator : Operator
{
    public override bool IsAlias => true;

    public override long Flops(PlanNode node) => 0;

    public override void Infer(PlanNode node)
    {
        var x = node.Input(0);
        var shape = OutputShape(node, x.Shape);
        if (ShapeMath.Count(shape) != x.Elements)
        {
            throw node.Error($"cannot view {x.Elements} elements of {ShapeMath.Format(x.Shape)} as {ShapeMath.Format(shape)}");
        }
        if (x.Constant is { } constant)
        {
            node.SetConstantOutput(0, constant.Reshaped(shape));
        }
        else
        {
            node.SetOutput(0, shape);
        }
        for (var i = 1; i < node.Outputs.Length; i++)
        {
            if (node.Outputs[i].Name.Length > 0)
            {
                throw node.Error($"output {i} ('{node.Outputs[i].Name}') is not supported");
            }
            node.SetOutput(i, []);
        }
    }

    public override Action Lower(PlanNode node, Lowering lowering) => throw new InvalidOperationException("aliases do no device work");

    protected abstract int[] OutputShape(PlanNode node, int[] input);

    /// <summary>Axes from the input (opset 13 and later) or the attribute (earlier).</summary>
    protected static long[] Axes(PlanNode node, int input) =>
        node.HasInput(input) ? node.RequireConstant(input, "axes").ToLongs() : node.Attributes.Ints("axes") ?? [];
}

internal sealed class IdentityOperator : AliasOperator
{
    protected override int[] OutputShape(PlanNode node, int[] input) => input;
}

internal sealed class ReshapeOperator : AliasOperator
{
    protected override int[] OutputShape(PlanNode node, int[] input)
    {
        var target = node.RequireConstant(1, "the target shape").ToLongs();
        var allowZero = node.Attributes.Int("allowzero", 0) != 0;
        var shape = new int[target.Length];
        var inferred = -1;
        for (var i = 0; i < target.Length; i++)
        {
            if (target[i] == -1)
            {
                inferred = inferred < 0 ? i : throw node.Error("the target shape has more than one -1");
                shape[i] = 1;
            }
            else if (target[i] == 0 && !allowZero)
            {
                shape[i] = i < input.Length ? input[i] : throw node.Error($"target dimension {i} copies an input dimension that does not exist");
            }
            else
            {
                shape[i] = target[i] >= 0 ? checked((int)target[i]) : throw node.Error($"target dimension {i} is {target[i]}");
            }
        }
        if (inferred >= 0)
        {
            var known = ShapeMath.Count(shape);
            var total = ShapeMath.Count(input);
            if (known == 0 || total % known != 0)
            {
                throw node.Error($"cannot infer the -1 dimension: {total} elements do not divide by {known}");
            }
            shape[inferred] = checked((int)(total / known));
        }
        return shape;
    }
}

internal sealed class FlattenOperator : AliasOperator
{
    protected override int[] OutputShape(PlanNode node, int[] input)
    {
        var axis = node.Attributes.Int("axis", 1);
        var resolved = axis < 0 ? axis + input.Length : axis;
        if (resolved < 0 || resolved > input.Length)
        {
            throw node.Error($"axis {axis} is out of range for rank {input.Length}");
        }
        return [checked((int)ShapeMath.Count(input.AsSpan(0, (int)resolved))), checked((int)ShapeMath.Count(input.AsSpan((int)resolved)))];
    }
}

internal sealed class SqueezeOperator : AliasOperator
{
    protected override int[] OutputShape(PlanNode node, int[] input)
    {
        var axes = Axes(node, 1).Select(a => ShapeMath.Axis(a, input.Length, node)).ToHashSet();
        foreach (var axis in axes.Where(a => input[a] != 1))
        {
            throw node.Error($"cannot squeeze axis {axis} of size {input[axis]}");
        }
        return axes.Count == 0
            ? [.. input.Where(d => d != 1)]
            : [.. input.Where((_, i) => !axes.Contains(i))];
    }
}

internal sealed class UnsqueezeOperator : AliasOperator
{
    protected override int[] OutputShape(PlanNode node, int[] input)
    {
        var axesValues = Axes(node, 1);
        var rank = input.Length + axesValues.Length;
        var axes = axesValues.Select(a => ShapeMath.Axis(a, rank, node)).ToHashSet();
        if (axes.Count != axesValues.Length)
        {
            throw node.Error("axes repeat");
        }
        var shape = new int[rank];
        var next = 0;
        for (var i = 0; i < rank; i++)
        {
            shape[i] = axes.Contains(i) ? 1 : input[next++];
        }
        return shape;
    }
}

/// <summary>Cast: folded for constants; to a float type it is an alias (the device computes in fp32); to an integer type it truncates.</summary>
internal sealed class CastOperator : Operator
{
    public override long Flops(PlanNode node) => 0;

    public override void Infer(PlanNode node)
    {
        var to = (int)node.Attributes.Int("to");
        if (!ElementTypes.TryFromOnnxCode(to, out var type))
        {
            throw node.Error($"cast to ONNX element type {to} is not supported");
        }
        var x = node.Input(0);
        var integer = type is not (ElementType.Fp32 or ElementType.Fp16 or ElementType.Fp64);
        node.State = integer;
        node.Outputs[0].DeclaredType = type;
        if (x.Constant is { } constant)
        {
            node.SetConstantOutput(0, integer ? HostTensor.OfLongs(constant.Shape, constant.ToLongs()) : HostTensor.OfFloats(constant.Shape, constant.ToFloats()));
            return;
        }
        node.SetOutput(0, x.Shape);
    }

    public override Action Lower(PlanNode node, Lowering lowering) =>
        lowering.Unary(lowering.View(node.Input(0)), lowering.View(node.Outputs[0]), (bool)node.State! ? UnaryOp.Trunc : UnaryOp.Copy);
}

/// <summary>Shape: always known at plan time.</summary>
internal sealed class ShapeOperator : Operator
{
    public override void Infer(PlanNode node)
    {
        var shape = node.InputShape(0);
        var rank = shape.Length;
        long Clamp(long v) => Math.Clamp(v < 0 ? v + rank : v, 0, rank);
        var start = Clamp(node.Attributes.Int("start", 0));
        var end = Clamp(node.Attributes.Int("end", rank));
        var dims = shape.Skip((int)start).Take((int)Math.Max(0, end - start)).Select(d => (long)d).ToArray();
        node.SetConstantOutput(0, HostTensor.OfLongs([dims.Length], dims));
    }

    public override Action Lower(PlanNode node, Lowering lowering) => throw new InvalidOperationException("Shape is always folded");
}

/// <summary>Constant: its attribute, at plan time.</summary>
internal sealed class ConstantOperator : Operator
{
    public override void Infer(PlanNode node)
    {
        var a = node.Attributes;
        HostTensor value =
            a.Tensor("value") is { } tensor ? HostTensor.FromProto(tensor, node.Node.Describe())
            : a.Has("value_float") ? HostTensor.OfFloats([], [a.Float("value_float", 0)])
            : a.Floats("value_floats") is { } floats ? HostTensor.OfFloats([floats.Length], floats)
            : a.Has("value_int") ? HostTensor.OfLongs([], [a.Int("value_int")])
            : a.Ints("value_ints") is { } ints ? HostTensor.OfLongs([ints.Length], ints)
            : throw node.Error("no supported value attribute (value, value_float(s), value_int(s))");
        node.SetConstantOutput(0, value);
    }

    public override Action Lower(PlanNode node, Lowering lowering) => throw new InvalidOperationException("Constant is always folded");
}
