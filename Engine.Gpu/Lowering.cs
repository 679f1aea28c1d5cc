using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.Gpu.Kernels;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// What an operator needs to turn a planned node into device work: views of its values in the workspace or the
/// weight buffer, uploads of plan-time constants, and launch helpers shared by operators.
/// </summary>
public sealed class Lowering
{
    private readonly ArrayView<float> workspace;
    private readonly Func<HostTensor, ArrayView<float>> constantView;

    internal Lowering(GpuDevice device, ArrayView<float> workspace, Func<HostTensor, ArrayView<float>> constantView)
    {
        Device = device;
        this.workspace = workspace;
        this.constantView = constantView;
    }

    public GpuDevice Device { get; }

    internal KernelSet Kernels => Device.Kernels;

    internal AcceleratorStream Stream => Device.Stream;

    /// <summary>The device view of a value: the weight or constant buffer for constants, the workspace otherwise.</summary>
    internal ArrayView<float> View(PlanValue value)
    {
        var root = value.Root;
        return root.Constant is { } constant
            ? constantView(constant)
            : workspace.SubView(root.Offset, value.Elements);
    }

    /// <summary>The view of an optional input, or an empty view when it is omitted.</summary>
    internal ArrayView<float> OptionalView(PlanNode node, int index) =>
        node.HasInput(index) ? View(node.Input(index)) : ArrayView<float>.Empty;

    /// <summary>Uploads a constant computed at plan time (e.g. a batch normalization's scale and shift).</summary>
    internal ArrayView<float> Upload(HostTensor tensor) => constantView(tensor);

    internal ArrayView<float> Scratch(PlanNode node) => workspace.SubView(node.ScratchOffset, node.ScratchFloats);

    /// <summary>One action that runs the given ones in order (a layer lowered to several launches).</summary>
    internal static Action Sequence(IEnumerable<Action> steps)
    {
        var all = steps.ToArray();
        return () =>
        {
            foreach (var step in all)
            {
                step();
            }
        };
    }

    internal Action Unary(ArrayView<float> x, ArrayView<float> y, UnaryOp op, float p0 = 0, float p1 = 0)
    {
        var n = checked((int)y.Length);
        var launch = Device.Launch(n);
        return () => Kernels.Unary(Stream, launch, x, y, n, op, p0, p1);
    }

    /// <summary>Copies a strided box of <paramref name="shape"/> from src to dst.</summary>
    internal Action Copy(ArrayView<float> src, ArrayView<float> dst, int[] shape, int[] srcStrides, int[] dstStrides, long srcStart = 0)
    {
        var start = checked((int)srcStart);
        var n = checked((int)ShapeMath.Count(shape));
        var launch = Device.Launch(n);
        var s = Shape6.Of(shape);
        var ss = Shape6.Of(srcStrides);
        var ds = Shape6.Of(dstStrides);
        return () => Kernels.StridedCopy(Stream, launch, src, dst, s, ss, ds, start, n);
    }

    /// <summary>y = act(a ∘ b) with numpy broadcasting to y's shape.</summary>
    internal Action Binary(ArrayView<float> a, int[] aShape, ArrayView<float> b, int[] bShape, ArrayView<float> y, int[] yShape, BinaryOp op, FusedActivation activation)
    {
        var n = checked((int)ShapeMath.Count(yShape));
        var launch = Device.Launch(n);
        if (aShape.SequenceEqual(yShape) && bShape.SequenceEqual(yShape))
        {
            return () => Kernels.BinarySameShape(Stream, launch, a, b, y, n, op, activation.Unary(), activation.P0, activation.P1);
        }
        var shape = Shape6.Of(yShape);
        var aStrides = Shape6.Of(ShapeMath.BroadcastStrides(aShape, yShape));
        var bStrides = Shape6.Of(ShapeMath.BroadcastStrides(bShape, yShape));
        return () => Kernels.BinaryBroadcast(Stream, launch, a, b, y, shape, aStrides, bStrides, n, op, activation.Unary(), activation.P0, activation.P1);
    }

    /// <summary>y = act(x·scale[c] + shift[c]) over a tensor viewed as [outer, channels, inner].</summary>
    internal Action ChannelAffine(ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, ArrayView<float> shift, int channels, int inner, FusedActivation activation)
    {
        var n = checked((int)y.Length);
        var launch = Device.Launch(n);
        return () => Kernels.ChannelAffine(Stream, launch, x, y, scale, shift, channels, inner, n, activation.Unary(), activation.P0, activation.P1);
    }
}
