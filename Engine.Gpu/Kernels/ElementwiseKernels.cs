using ILGPU;
using ILGPU.Algorithms;

namespace OrleansServe.Engine.Gpu.Kernels;

/// <summary>Unary functions applied element by element (activation functions and the like).</summary>
public enum UnaryOp
{
    Copy,
    Relu,
    Clip,
    Sigmoid,
    Tanh,
    Erf,
    Gelu,
    GeluTanh,
    HardSigmoid,
    HardSwish,
    Sqrt,
    Trunc,
    Neg,
    Exp,
    Abs,
    Reciprocal,
}

/// <summary>Binary functions applied element by element with broadcasting.</summary>
public enum BinaryOp
{
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// <summary>
/// Element-wise kernels. Every kernel walks its elements with a grid-stride loop, so the launch size is a
/// choice of the device (few threads on the CPU accelerator, where each thread is costly; many on a GPU).
/// </summary>
internal static class ElementwiseKernels
{
    public static float Apply(UnaryOp op, float x, float p0, float p1)
    {
        switch (op)
        {
            case UnaryOp.Relu: return x > 0f ? x : 0f;
            case UnaryOp.Clip: return XMath.Min(XMath.Max(x, p0), p1);
            case UnaryOp.Sigmoid: return 1f / (1f + XMath.Exp(-x));
            case UnaryOp.Tanh: return XMath.Tanh(x);
            case UnaryOp.Erf: return Erf(x);
            case UnaryOp.Gelu: return 0.5f * x * (1f + Erf(x * 0.70710678f));
            case UnaryOp.GeluTanh: return 0.5f * x * (1f + XMath.Tanh(0.7978845608f * (x + 0.044715f * x * x * x)));
            case UnaryOp.HardSigmoid: return XMath.Min(1f, XMath.Max(0f, p0 * x + p1));
            case UnaryOp.HardSwish: return x * XMath.Min(1f, XMath.Max(0f, x / 6f + 0.5f));
            case UnaryOp.Sqrt: return XMath.Sqrt(x);
            case UnaryOp.Trunc: return x < 0f ? XMath.Ceiling(x) : XMath.Floor(x);
            case UnaryOp.Neg: return -x;
            case UnaryOp.Exp: return XMath.Exp(x);
            case UnaryOp.Abs: return XMath.Abs(x);
            case UnaryOp.Reciprocal: return 1f / x;
            default: return x;
        }
    }

    /// <summary>erf with the Abramowitz–Stegun 7.1.26 rational approximation (absolute error below 1.5e-7).</summary>
    public static float Erf(float x)
    {
        var sign = x < 0f ? -1f : 1f;
        var a = XMath.Abs(x);
        var t = 1f / (1f + 0.3275911f * a);
        var poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        return sign * (1f - poly * XMath.Exp(-a * a));
    }

    public static float Apply(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        BinaryOp.Div => a / b,
        _ => XMath.Pow(a, b),
    };

    public static void Unary(ArrayView<float> x, ArrayView<float> y, int n, UnaryOp op, float p0, float p1)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            y[i] = Apply(op, x[i], p0, p1);
        }
    }

    /// <summary>y = act(a ∘ b) where both have the output's shape (no broadcasting); act is Copy unless an activation was fused.</summary>
    public static void BinarySameShape(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int n, BinaryOp op, UnaryOp act, float p0, float p1)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            y[i] = Apply(act, Apply(op, a[i], b[i]), p0, p1);
        }
    }

    /// <summary>y = act(a ∘ b) with broadcasting: each operand is read through strides that are zero on broadcast dimensions.</summary>
    public static void BinaryBroadcast(ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, Shape6 shape, Shape6 aStrides, Shape6 bStrides, int n, BinaryOp op, UnaryOp act, float p0, float p1)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            y[i] = Apply(act, Apply(op, a[aStrides.Offset(shape, i)], b[bStrides.Offset(shape, i)]), p0, p1);
        }
    }

    /// <summary>
    /// y = act(x·scale[c] + shift[c]) with c = (i / inner) mod channels: a bias add, an inference-mode batch
    /// normalization, or a convolution epilogue. A zero-length scale means 1.
    /// </summary>
    public static void ChannelAffine(ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, ArrayView<float> shift, int channels, int inner, int n, UnaryOp act, float p0, float p1)
    {
        var stride = Grid.DimX * Group.DimX;
        var hasScale = scale.Length > 0;
        var hasShift = shift.Length > 0;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            var c = i / inner % channels;
            var v = x[i];
            if (hasScale)
            {
                v *= scale[c];
            }
            if (hasShift)
            {
                v += shift[c];
            }
            y[i] = Apply(act, v, p0, p1);
        }
    }

    /// <summary>Copies the elements of a strided box: Transpose, Slice, Concat, Split and Expand are all this kernel.</summary>
    /// <remarks>The source start is an offset rather than a sub-view because negative strides (Slice with negative steps) read backwards from it.</remarks>
    public static void StridedCopy(ArrayView<float> src, ArrayView<float> dst, Shape6 shape, Shape6 srcStrides, Shape6 dstStrides, int srcStart, int n)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            dst[dstStrides.Offset(shape, i)] = src[srcStart + srcStrides.Offset(shape, i)];
        }
    }

    /// <summary>Fills a view with one value.</summary>
    public static void Fill(ArrayView<float> y, int n, float value)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            y[i] = value;
        }
    }
}

/// <summary>The kernels' form of the activations the graph fuses into a node.</summary>
public static class FusedActivations
{
    /// <summary>The <see cref="UnaryOp"/> a node's epilogue applies (Copy for none).</summary>
    public static UnaryOp Unary(this Onnx.FusedActivation activation) => activation.Op switch
    {
        Onnx.ActivationOp.None => UnaryOp.Copy,
        Onnx.ActivationOp.Relu => UnaryOp.Relu,
        Onnx.ActivationOp.Clip => UnaryOp.Clip,
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation.Op, "unknown fused activation"),
    };
}
