using OrleansServe.Engine.Gpu;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning.Operators;

/// <summary>Host-side strided reads, used to fold data movement on constants exactly as the device would do it.</summary>
internal static class HostCopy
{
    /// <summary>Reads a box of <paramref name="shape"/> from <paramref name="source"/> at the given strides and start.</summary>
    public static HostTensor Read(HostTensor source, int[] shape, int[] strides, long start)
    {
        var count = ShapeMath.Count(shape);
        var outStrides = ShapeMath.Strides(shape);
        long Offset(long linear)
        {
            var offset = start;
            for (var d = 0; d < shape.Length; d++)
            {
                offset += linear / outStrides[d] % shape[d] * strides[d];
            }
            return offset;
        }
        if (source.IsInteger)
        {
            var values = new long[count];
            for (long i = 0; i < count; i++)
            {
                values[i] = source.Longs![Offset(i)];
            }
            return HostTensor.OfLongs(shape, values);
        }
        var floats = new float[count];
        for (long i = 0; i < count; i++)
        {
            floats[i] = source.Floats![Offset(i)];
        }
        return HostTensor.OfFloats(shape, floats);
    }
}

/// <summary>
/// Concat and Split move the same blocks in opposite directions: part i, viewed as [outer, dim_i, inner], is the slice
/// at offset Σ dim_&lt;i along the axis of the whole, viewed as [outer, total, inner].
/// </summary>
internal static class AxisParts
{
    public static Action Copy(Lowering lowering, ILGPU.ArrayView<float> whole, int[] wholeShape, int axis, IEnumerable<(ILGPU.ArrayView<float> View, int Dim)> parts, bool intoWhole)
    {
        var outer = (int)ShapeMath.Count(wholeShape.AsSpan(0, axis));
        var inner = (int)ShapeMath.Count(wholeShape.AsSpan(axis + 1));
        int[] wholeStrides = [wholeShape[axis] * inner, inner, 1];
        var steps = new List<Action>();
        long offset = 0;
        foreach (var (part, dim) in parts)
        {
            if (dim > 0)
            {
                var slice = whole.SubView(offset * inner);
                int[] box = [outer, dim, inner];
                int[] partStrides = [dim * inner, inner, 1];
                steps.Add(intoWhole
                    ? lowering.Copy(part, slice, box, partStrides, wholeStrides)
                    : lowering.Copy(slice, part, box, wholeStrides, partStrides));
            }
            offset += dim;
        }
        return Lowering.Sequence(steps);
    }
}

internal sealed class TransposeOperator : Operator
{
    public override long Flops(PlanNode node) => 0;

    public override void Infer(PlanNode node)
    {
        var x = node.Input(0);
        var rank = x.Shape.Length;
        var perm = node.Attributes.Ints("perm") ?? [.. Enumerable.Range(0, rank).Reverse().Select(i => (long)i)];
        if (perm.Length != rank || perm.Distinct().Count() != rank || perm.Any(p => p < 0 || p >= rank))
        {
            throw node.Error($"perm [{string.Join(',', perm)}] is not a permutation of rank {rank}");
        }
        var inStrides = ShapeMath.Strides(x.Shape);
        var shape = perm.Select(p => x.Shape[p]).ToArray();
        var strides = perm.Select(p => inStrides[p]).ToArray();
        node.State = strides;
        if (x.Constant is { } constant)
        {
            node.SetConstantOutput(0, HostCopy.Read(constant, shape, strides, 0));
            return;
        }
        node.SetOutput(0, shape);
    }

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var y = node.Outputs[0];
        return lowering.Copy(lowering.View(node.Input(0)), lowering.View(y), y.Shape, (int[])node.State!, ShapeMath.Strides(y.Shape));
    }
}

internal sealed class ConcatOperator : Operator
{
    public override long Flops(PlanNode node) => 0;

    public override void Infer(PlanNode node)
    {
        var first = node.InputShape(0);
        var axis = ShapeMath.Axis(node.Attributes.Int("axis"), first.Length, node);
        var shape = (int[])first.Clone();
        shape[axis] = 0;
        for (var i = 0; i < node.InputCount; i++)
        {
            var s = node.InputShape(i);
            if (s.Length != first.Length || Enumerable.Range(0, s.Length).Any(d => d != axis && s[d] != first[d]))
            {
                throw node.Error($"input {i} shape {ShapeMath.Format(s)} does not match {ShapeMath.Format(first)} outside axis {axis}");
            }
            shape[axis] += s[axis];
        }
        node.State = axis;
        if (node.AllInputsConstant)
        {
            var parts = node.Inputs.Select(v => v!.Constant!).ToList();
            var integer = parts.All(p => p.IsInteger);
            var outer = (int)ShapeMath.Count(shape.AsSpan(0, axis));
            var inner = (int)ShapeMath.Count(shape.AsSpan(axis + 1));
            var result = new List<double>();
            var floats = new float[ShapeMath.Count(shape)];
            var longs = new long[floats.Length];
            var position = 0;
            for (var o = 0; o < outer; o++)
            {
                foreach (var part in parts)
                {
                    var run = part.Shape[axis] * inner;
                    for (var k = 0; k < run; k++)
                    {
                        floats[position] = (float)part[(long)o * run + k];
                        longs[position++] = (long)part[(long)o * run + k];
                    }
                }
            }
            node.SetConstantOutput(0, integer ? HostTensor.OfLongs(shape, longs) : HostTensor.OfFloats(shape, floats));
            return;
        }
        node.SetOutput(0, shape);
    }

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var axis = (int)node.State!;
        var y = node.Outputs[0];
        return AxisParts.Copy(lowering, lowering.View(y), y.Shape, axis, node.Inputs.Select(input => (lowering.View(input!), input!.Shape[axis])), intoWhole: true);
    }
}

internal sealed class SplitOperator : Operator
{
    public override long Flops(PlanNode node) => 0;

    public override void Infer(PlanNode node)
    {
        var x = node.Input(0);
        var axis = ShapeMath.Axis(node.Attributes.Int("axis", 0), x.Shape.Length, node);
        var parts = node.Outputs.Length;
        long[] sizes;
        if (node.HasInput(1))
        {
            sizes = node.RequireConstant(1, "split").ToLongs();
        }
        else if (node.Attributes.Ints("split") is { } attribute)
        {
            sizes = attribute;
        }
        else
        {
            // Equal parts; the last one smaller when the axis does not divide (opset 18).
            var chunk = (x.Shape[axis] + parts - 1) / parts;
            sizes = [.. Enumerable.Range(0, parts).Select(i => (long)Math.Max(0, Math.Min(chunk, x.Shape[axis] - i * chunk)))];
        }
        if (sizes.Length != parts || sizes.Sum() != x.Shape[axis] || sizes.Any(s => s < 0))
        {
            throw node.Error($"split sizes [{string.Join(',', sizes)}] do not cover axis {axis} of {ShapeMath.Format(x.Shape)} in {parts} outputs");
        }
        node.State = (axis, sizes);
        var strides = ShapeMath.Strides(x.Shape);
        long start = 0;
        for (var i = 0; i < parts; i++)
        {
            var shape = (int[])x.Shape.Clone();
            shape[axis] = (int)sizes[i];
            if (x.Constant is { } constant)
            {
                node.SetConstantOutput(i, HostCopy.Read(constant, shape, strides, start * strides[axis]));
            }
            else
            {
                node.SetOutput(i, shape);
            }
            start += sizes[i];
        }
    }

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var (axis, sizes) = ((int, long[]))node.State!;
        var x = node.Input(0);
        return AxisParts.Copy(lowering, lowering.View(x), x.Shape, axis, node.Outputs.Select((output, i) => (lowering.View(output), (int)sizes[i])), intoWhole: false);
    }
}

internal sealed class SliceOperator : Operator
{
    public override long Flops(PlanNode node) => 0;

    public override void Infer(PlanNode node)
    {
        var x = node.Input(0);
        var rank = x.Shape.Length;
        long[] starts, ends, axes, steps;
        if (node.HasInput(1))
        {
            starts = node.RequireConstant(1, "starts").ToLongs();
            ends = node.RequireConstant(2, "ends").ToLongs();
            axes = node.HasInput(3) ? node.RequireConstant(3, "axes").ToLongs() : [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
            steps = node.HasInput(4) ? node.RequireConstant(4, "steps").ToLongs() : [.. starts.Select(_ => 1L)];
        }
        else
        {
            // Opset 1-9 carried starts, ends and axes as attributes.
            starts = node.Attributes.Ints("starts") ?? throw node.Error("starts is missing");
            ends = node.Attributes.Ints("ends") ?? throw node.Error("ends is missing");
            axes = node.Attributes.Ints("axes") ?? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
            steps = [.. starts.Select(_ => 1L)];
        }
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
        {
            throw node.Error("starts, ends, axes and steps differ in length");
        }
        var inStrides = ShapeMath.Strides(x.Shape);
        var shape = (int[])x.Shape.Clone();
        var strides = (int[])inStrides.Clone();
        long offset = 0;
        for (var i = 0; i < starts.Length; i++)
        {
            var axis = ShapeMath.Axis(axes[i], rank, node);
            var dim = x.Shape[axis];
            var step = steps[i];
            if (step == 0)
            {
                throw node.Error("a step is zero");
            }
            long Resolve(long v, long low, long high) => Math.Clamp(v < 0 ? v + dim : v, low, high);
            long start, count;
            if (step > 0)
            {
                start = Resolve(starts[i], 0, dim);
                var end = Resolve(ends[i], 0, dim);
                count = Math.Max(0, (end - start + step - 1) / step);
            }
            else
            {
                start = Resolve(starts[i], -1, dim - 1);
                var end = Resolve(ends[i], -1, dim - 1);
                count = Math.Max(0, (start - end - step - 1) / -step);
            }
            shape[axis] = (int)count;
            strides[axis] = (int)(inStrides[axis] * step);
            offset += start * inStrides[axis];
        }
        node.State = (strides, offset);
        if (x.Constant is { } constant)
        {
            node.SetConstantOutput(0, HostCopy.Read(constant, shape, strides, offset));
            return;
        }
        node.SetOutput(0, shape);
    }

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var (strides, offset) = ((int[], long))node.State!;
        var y = node.Outputs[0];
        if (y.Elements == 0)
        {
            return () => { };
        }
        return lowering.Copy(lowering.View(node.Input(0)), lowering.View(y), y.Shape, strides, ShapeMath.Strides(y.Shape), offset);
    }
}

/// <summary>Gather along an axis; indices may come from the device (e.g. token ids) or be constants.</summary>
internal sealed class GatherOperator : Operator
{
    public override long Flops(PlanNode node) => 0;

    public override void Infer(PlanNode node)
    {
        var data = node.Input(0);
        var indices = node.Input(1);
        var axis = ShapeMath.Axis(node.Attributes.Int("axis", 0), data.Shape.Length, node);
        int[] shape = [.. data.Shape.Take(axis), .. indices.Shape, .. data.Shape.Skip(axis + 1)];
        node.State = axis;
        if (data.Constant is { } d && indices.Constant is { } idx)
        {
            var outer = (int)ShapeMath.Count(data.Shape.AsSpan(0, axis));
            var inner = (int)ShapeMath.Count(data.Shape.AsSpan(axis + 1));
            var dim = data.Shape[axis];
            var count = (int)idx.ElementCount;
            var positions = new long[ShapeMath.Count(shape)];
            for (long i = 0; i < positions.Length; i++)
            {
                var j = i % inner;
                var k = i / inner % count;
                var o = i / ((long)inner * count);
                var index = (long)idx[k];
                index = index < 0 ? index + dim : index;
                if (index < 0 || index >= dim)
                {
                    throw node.Error($"index {idx[k]} is out of range for axis {axis} of size {dim}");
                }
                positions[i] = (o * dim + index) * inner + j;
            }
            node.SetConstantOutput(0, d.IsInteger
                ? HostTensor.OfLongs(shape, Array.ConvertAll(positions, p => d.Longs![p]))
                : HostTensor.OfFloats(shape, Array.ConvertAll(positions, p => d.Floats![p])));
            return;
        }
        node.SetOutput(0, shape);
    }

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var axis = (int)node.State!;
        var data = node.Input(0);
        var y = node.Outputs[0];
        var dataView = lowering.View(data);
        var indexView = lowering.View(node.Input(1));
        var yView = lowering.View(y);
        var inner = (int)ShapeMath.Count(data.Shape.AsSpan(axis + 1));
        var count = (int)node.Input(1).Elements;
        var dim = data.Shape[axis];
        var n = checked((int)y.Elements);
        var launch = lowering.Device.Launch(n);
        return () => lowering.Kernels.Gather(lowering.Stream, launch, dataView, indexView, yView, dim, count, inner, n);
    }
}
