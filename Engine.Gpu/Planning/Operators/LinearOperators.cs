using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Kernels;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning.Operators;

/// <summary>Gemm: Y = alpha·op(A)·op(B) + beta·C, with C broadcast, and an optional fused activation.</summary>
internal sealed class GemmOperator : Operator
{
    private sealed record State(GemmShape Shape, bool BiasAsChannel);

    public override void Infer(PlanNode node)
    {
        var a = node.InputShape(0);
        var b = node.InputShape(1);
        if (a.Length != 2 || b.Length != 2)
        {
            throw node.Error($"A {ShapeMath.Format(a)} and B {ShapeMath.Format(b)} must both be 2-D");
        }
        var transA = node.Attributes.Int("transA", 0) != 0;
        var transB = node.Attributes.Int("transB", 0) != 0;
        var (m, k) = transA ? (a[1], a[0]) : (a[0], a[1]);
        var (kb, n) = transB ? (b[1], b[0]) : (b[0], b[1]);
        if (k != kb)
        {
            throw node.Error($"inner dimensions differ: op(A) is {m}×{k}, op(B) is {kb}×{n}");
        }
        var alpha = node.Attributes.Float("alpha", 1f);
        var beta = node.Attributes.Float("beta", 1f);
        var biasAsChannel = false;
        if (node.HasInput(2))
        {
            var c = node.InputShape(2);
            ShapeMath.Broadcast(c, [m, n], node);
            if (ShapeMath.Broadcast(c, [m, n], node) is var s && (s[0] != m || s[1] != n))
            {
                throw node.Error($"C {ShapeMath.Format(c)} does not broadcast to [{m},{n}]");
            }
            biasAsChannel = beta == 1f && ShapeMath.Count(c) == n && (c.Length == 1 || c[0] == 1);
        }
        node.State = new State(new GemmShape(m, n, k, transA, transB, alpha, node.HasInput(2) && !biasAsChannel ? beta : 0f), biasAsChannel);
        node.SetOutput(0, [m, n]);
    }

    public override long Flops(PlanNode node) => ((State)node.State!).Shape.Flops;

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var state = (State)node.State!;
        var a = lowering.View(node.Input(0));
        var b = lowering.View(node.Input(1));
        var y = node.Outputs[0];
        var yView = lowering.View(y);
        var activation = node.Node.Activation;
        var shape = state.Shape;
        var gemm = lowering.Device.Gemm;
        Action? before = null;
        Action? after = null;
        if (node.HasInput(2))
        {
            var c = node.Input(2);
            if (state.BiasAsChannel)
            {
                after = lowering.ChannelAffine(yView, yView, default, lowering.View(c), shape.N, 1, activation);
            }
            else
            {
                // Broadcast C into Y, then accumulate: Y = alpha·AB + beta·Y.
                before = lowering.Copy(lowering.View(c), yView, y.Shape, ShapeMath.BroadcastStrides(c.Shape, y.Shape), ShapeMath.Strides(y.Shape));
            }
        }
        if (after is null && !activation.IsNone)
        {
            after = lowering.Unary(yView, yView, activation.Unary(), activation.P0, activation.P1);
        }
        return () =>
        {
            before?.Invoke();
            gemm.Run(shape, a, b, yView);
            after?.Invoke();
        };
    }
}

/// <summary>
/// MatMul with numpy semantics: 1-D operands are promoted, batch dimensions broadcast when one side has none (or all
/// ones). A third input, added only by <see cref="GraphRewrites"/>, is a bias over the last dimension applied in the
/// epilogue together with any fused activation (MatMul + Add of a linear layer).
/// </summary>
internal sealed class MatMulOperator : Operator
{
    public override void Infer(PlanNode node)
    {
        var a = node.InputShape(0);
        var b = node.InputShape(1);
        if (a.Length == 0 || b.Length == 0)
        {
            throw node.Error("MatMul of a scalar");
        }
        int[] a2 = a.Length == 1 ? [1, a[0]] : a;
        int[] b2 = b.Length == 1 ? [b[0], 1] : b;
        var (m, k) = (a2[^2], a2[^1]);
        var (kb, n) = (b2[^2], b2[^1]);
        if (k != kb)
        {
            throw node.Error($"inner dimensions differ: {ShapeMath.Format(a)} × {ShapeMath.Format(b)}");
        }
        if (node.HasInput(2) && node.Input(2).Elements != n)
        {
            throw node.Error($"the fused bias has {node.Input(2).Elements} elements for {n} columns");
        }
        var aBatch = a2[..^2];
        var bBatch = b2[..^2];
        var batch = ShapeMath.Broadcast(aBatch, bBatch, node);
        var batchCount = (int)ShapeMath.Count(batch);
        var aCount = (int)ShapeMath.Count(aBatch);
        var bCount = (int)ShapeMath.Count(bBatch);
        GemmShape shape;
        if (bCount == 1)
        {
            // B is one matrix: fold A's batch into its rows, one GEMM.
            shape = new GemmShape(aCount * m, n, k);
        }
        else if (aCount == batchCount && bCount == batchCount)
        {
            shape = new GemmShape(m, n, k, Batch: batchCount, StrideA: (long)m * k, StrideB: (long)k * n, StrideC: (long)m * n);
        }
        else if (aCount == 1)
        {
            shape = new GemmShape(m, n, k, Batch: batchCount, StrideA: 0, StrideB: (long)k * n, StrideC: (long)m * n);
        }
        else
        {
            throw node.Error($"batch broadcasting of {ShapeMath.Format(a)} × {ShapeMath.Format(b)} is not supported (only equal batches or one side without batch)");
        }
        node.State = shape;
        List<int> output = [.. batch];
        if (a.Length > 1)
        {
            output.Add(m);
        }
        if (b.Length > 1)
        {
            output.Add(n);
        }
        node.SetOutput(0, [.. output]);
    }

    public override long Flops(PlanNode node) => ((GemmShape)node.State!).Flops;

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var shape = (GemmShape)node.State!;
        var a = lowering.View(node.Input(0));
        var b = lowering.View(node.Input(1));
        var y = lowering.View(node.Outputs[0]);
        var gemm = lowering.Device.Gemm;
        var activation = node.Node.Activation;
        if (!node.HasInput(2) && activation.IsNone)
        {
            return () => gemm.Run(shape, a, b, y);
        }
        var epilogue = lowering.ChannelAffine(y, y, default, lowering.OptionalView(node, 2), shape.N, 1, activation);
        return () =>
        {
            gemm.Run(shape, a, b, y);
            epilogue();
        };
    }
}
