using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Kernels;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning.Operators;

/// <summary>Softmax along one axis (opset 13); before opset 13 the input is coerced to 2-D at the axis.</summary>
internal sealed class SoftmaxOperator : Operator
{
    public override void Infer(PlanNode node)
    {
        var x = node.InputShape(0);
        var legacy = node.Opset < 13;
        var axis = ShapeMath.Axis(node.Attributes.Int("axis", legacy ? 1 : -1), x.Length, node);
        var length = legacy ? (int)ShapeMath.Count(x.AsSpan(axis)) : x[axis];
        var inner = legacy ? 1 : (int)ShapeMath.Count(x.AsSpan(axis + 1));
        node.State = (length, inner);
        node.SetOutput(0, x);
    }

    public override long Flops(PlanNode node) => 5 * node.Outputs[0].Elements;

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var (length, inner) = ((int, int))node.State!;
        var x = lowering.View(node.Input(0));
        var y = lowering.View(node.Outputs[0]);
        var rows = checked((int)(y.Length / length));
        if (inner == 1)
        {
            var rowLaunch = lowering.Device.LaunchRows(rows, length);
            return () => lowering.Kernels.SoftmaxRows(lowering.Stream, rowLaunch, x, y, length, rows);
        }
        var launch = lowering.Device.Launch(rows);
        return () => lowering.Kernels.Softmax(lowering.Stream, launch, x, y, length, inner, rows);
    }
}

/// <summary>LayerNormalization (opset 17) over the trailing axes from <c>axis</c>.</summary>
internal sealed class LayerNormOperator : Operator
{
    public override void Infer(PlanNode node)
    {
        var x = node.InputShape(0);
        var axis = ShapeMath.Axis(node.Attributes.Int("axis", -1), x.Length, node);
        var cols = (int)ShapeMath.Count(x.AsSpan(axis));
        if (node.Input(1).Elements != cols || node.HasInput(2) && node.Input(2).Elements != cols)
        {
            throw node.Error($"scale and bias must have the {cols} elements normalized over");
        }
        if (node.Outputs.Skip(1).Any(o => o.Name.Length > 0))
        {
            throw node.Error("the Mean and InvStdDev outputs are not supported");
        }
        node.State = cols;
        node.SetOutput(0, x);
        for (var i = 1; i < node.Outputs.Length; i++)
        {
            node.SetOutput(i, []);
        }
    }

    public override long Flops(PlanNode node) => 8 * node.Outputs[0].Elements;

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var cols = (int)node.State!;
        var x = lowering.View(node.Input(0));
        var scale = lowering.View(node.Input(1));
        var bias = lowering.OptionalView(node, 2);
        var y = lowering.View(node.Outputs[0]);
        var rows = checked((int)(y.Length / cols));
        var epsilon = node.Attributes.Float("epsilon", 1e-5f);
        var launch = lowering.Device.LaunchRows(rows, cols);
        return () => lowering.Kernels.LayerNormRows(lowering.Stream, launch, x, y, scale, bias, cols, epsilon, rows);
    }
}

/// <summary>ReduceMean over any axes (attribute before opset 18, input from 18), with or without kept dimensions.</summary>
internal sealed class ReduceMeanOperator : Operator
{
    private sealed record State(int[] KeptShape, bool[] Reduced);

    public override void Infer(PlanNode node)
    {
        var x = node.Input(0);
        var rank = x.Shape.Length;
        var axesValues = node.HasInput(1) ? node.RequireConstant(1, "axes").ToLongs() : node.Attributes.Ints("axes") ?? [];
        var keepDims = node.Attributes.Int("keepdims", 1) != 0;
        var reduced = new bool[rank];
        if (axesValues.Length == 0)
        {
            if (node.Attributes.Int("noop_with_empty_axes", 0) != 0)
            {
                throw node.Error("noop_with_empty_axes is not supported");
            }
            Array.Fill(reduced, true);
        }
        foreach (var axis in axesValues)
        {
            reduced[ShapeMath.Axis(axis, rank, node)] = true;
        }
        var kept = x.Shape.Select((d, i) => reduced[i] ? 1 : d).ToArray();
        node.State = new State(kept, reduced);
        var shape = keepDims ? kept : [.. x.Shape.Where((_, i) => !reduced[i])];
        if (x.Constant is { } constant)
        {
            node.SetConstantOutput(0, Fold(constant, x.Shape, reduced, shape));
            return;
        }
        node.SetOutput(0, shape);
    }

    public override long Flops(PlanNode node) => node.Input(0).Elements;

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var state = (State)node.State!;
        var x = node.Input(0);
        var xView = lowering.View(x);
        var y = lowering.View(node.Outputs[0]);
        var n = checked((int)y.Length);
        var launch = lowering.Device.Launch(n);
        var rank = x.Shape.Length;
        var firstReduced = Array.IndexOf(state.Reduced, true);
        if (firstReduced >= 0 && state.Reduced.Skip(firstReduced).All(r => r))
        {
            // Trailing axes: each output is the mean of one contiguous run.
            var inner = (int)ShapeMath.Count(x.Shape.AsSpan(firstReduced));
            return () => lowering.Kernels.RowMean(lowering.Stream, launch, xView, y, inner, n);
        }
        var strides = ShapeMath.Strides(x.Shape);
        var outShape = Shape6.Of(state.KeptShape);
        var outToIn = Shape6.Of(strides.Select((s, i) => state.Reduced[i] ? 0 : s).ToArray());
        var reduceShape = Shape6.Of(x.Shape.Select((d, i) => state.Reduced[i] ? d : 1).ToArray());
        var reduceStrides = Shape6.Of(strides.Select((s, i) => state.Reduced[i] ? s : 0).ToArray());
        var reduceCount = (int)Enumerable.Range(0, rank).Where(i => state.Reduced[i]).Aggregate(1L, (p, i) => p * x.Shape[i]);
        return () => lowering.Kernels.ReduceMean(lowering.Stream, launch, xView, y, outShape, outToIn, reduceShape, reduceStrides, reduceCount, n);
    }

    private static HostTensor Fold(HostTensor x, int[] shape, bool[] reduced, int[] outShape)
    {
        var strides = ShapeMath.Strides(shape);
        var keptStrides = ShapeMath.Strides(shape.Select((d, i) => reduced[i] ? 1 : d).ToArray());
        var sums = new double[ShapeMath.Count(outShape)];
        for (long i = 0; i < x.ElementCount; i++)
        {
            long target = 0;
            for (var d = 0; d < shape.Length; d++)
            {
                if (!reduced[d])
                {
                    target += i / strides[d] % shape[d] * keptStrides[d];
                }
            }
            sums[target] += x[i];
        }
        var count = x.ElementCount / Math.Max(1, sums.Length);
        return HostTensor.OfFloats(outShape, [.. sums.Select(s => (float)(s / count))]);
    }
}
