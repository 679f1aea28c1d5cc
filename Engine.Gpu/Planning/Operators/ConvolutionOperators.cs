using ILGPU;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Kernels;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning.Operators;

/// <summary>Window attributes shared by Conv and the pooling operators (2-D, NCHW).</summary>
internal static class Windows
{
    public static WindowGeometry Geometry(PlanNode node, int[] x, int kernelHeight, int kernelWidth, bool ceilMode = false)
    {
        if (x.Length != 4)
        {
            throw node.Error($"input {ShapeMath.Format(x)} is not 4-D NCHW; only 2-D windows are supported");
        }
        var a = node.Attributes;
        var strides = a.Ints("strides") ?? [1, 1];
        var dilations = a.Ints("dilations") ?? [1, 1];
        var pads = a.Ints("pads") ?? [0, 0, 0, 0];
        if (strides.Length != 2 || dilations.Length != 2 || pads.Length != 4)
        {
            throw node.Error("strides, dilations and pads must describe two spatial dimensions");
        }
        var g = new WindowGeometry
        {
            Images = x[0],
            Channels = x[1],
            Height = x[2],
            Width = x[3],
            KernelHeight = kernelHeight,
            KernelWidth = kernelWidth,
            StrideHeight = (int)strides[0],
            StrideWidth = (int)strides[1],
            DilationHeight = (int)dilations[0],
            DilationWidth = (int)dilations[1],
        };
        var effectiveHeight = (kernelHeight - 1) * g.DilationHeight + 1;
        var effectiveWidth = (kernelWidth - 1) * g.DilationWidth + 1;
        var autoPad = a.String("auto_pad", "NOTSET");
        long padTop = pads[0], padLeft = pads[1], padBottom = pads[2], padRight = pads[3];
        switch (autoPad)
        {
            case "NOTSET":
                break;
            case "VALID":
                padTop = padLeft = padBottom = padRight = 0;
                break;
            case "SAME_UPPER" or "SAME_LOWER":
                (padTop, padBottom) = SamePads(g.Height, g.StrideHeight, effectiveHeight, autoPad == "SAME_UPPER");
                (padLeft, padRight) = SamePads(g.Width, g.StrideWidth, effectiveWidth, autoPad == "SAME_UPPER");
                break;
            default:
                throw node.Error($"auto_pad '{autoPad}' is not supported");
        }
        g.PadTop = (int)padTop;
        g.PadLeft = (int)padLeft;
        g.OutHeight = OutSize(g.Height, padTop + padBottom, effectiveHeight, g.StrideHeight, ceilMode);
        g.OutWidth = OutSize(g.Width, padLeft + padRight, effectiveWidth, g.StrideWidth, ceilMode);
        if (g.OutHeight < 1 || g.OutWidth < 1 || g.StrideHeight < 1 || g.StrideWidth < 1 || g.DilationHeight < 1 || g.DilationWidth < 1)
        {
            throw node.Error($"the window {kernelHeight}×{kernelWidth} does not fit input {ShapeMath.Format(x)} with these strides and pads");
        }
        return g;
    }

    private static (long Begin, long End) SamePads(int size, int stride, int effectiveKernel, bool upper)
    {
        var output = (size + stride - 1) / stride;
        var total = Math.Max(0, (output - 1) * stride + effectiveKernel - size);
        return upper ? (total / 2, total - total / 2) : (total - total / 2, total / 2);
    }

    private static int OutSize(int size, long pads, int effectiveKernel, int stride, bool ceilMode)
    {
        var span = size + pads - effectiveKernel;
        if (span < 0)
        {
            return 0;
        }
        var output = (int)((ceilMode ? span + stride - 1 : span) / stride) + 1;
        // With ceil_mode the last window must start inside the input or the left padding.
        if (ceilMode && (output - 1) * stride >= size + pads / 2)
        {
            output--;
        }
        return output;
    }
}

/// <summary>
/// Conv: depthwise convolutions run a direct kernel; every other convolution is im2col + GEMM (1×1 convolutions
/// skip im2col), batched over images, with the bias and a fused activation applied in one epilogue pass.
/// </summary>
internal sealed class ConvOperator : Operator
{
    /// <summary>The im2col scratch is capped at this many floats (256 MB); larger batches are unfolded a chunk of images at a time.</summary>
    internal const long ScratchCapFloats = 64L << 20;

    private sealed record State(WindowGeometry Geometry, int Groups, int OutChannels, bool Depthwise, bool Pointwise, int ChunkImages);

    public override void Infer(PlanNode node)
    {
        var x = node.InputShape(0);
        var w = node.InputShape(1);
        if (w.Length != 4)
        {
            throw node.Error($"weight {ShapeMath.Format(w)} is not 4-D; only 2-D convolutions are supported");
        }
        var kernelShape = node.Attributes.Ints("kernel_shape");
        if (kernelShape is not null && (kernelShape.Length != 2 || kernelShape[0] != w[2] || kernelShape[1] != w[3]))
        {
            throw node.Error($"kernel_shape [{string.Join(',', kernelShape)}] does not match weight {ShapeMath.Format(w)}");
        }
        var g = Windows.Geometry(node, x, w[2], w[3]);
        var groups = (int)node.Attributes.Int("group", 1);
        if (groups < 1 || g.Channels % groups != 0 || w[0] % groups != 0 || w[1] != g.Channels / groups)
        {
            throw node.Error($"input {ShapeMath.Format(x)} and weight {ShapeMath.Format(w)} do not fit group={groups}");
        }
        if (node.HasInput(2) && node.Input(2).Elements != w[0])
        {
            throw node.Error($"bias has {node.Input(2).Elements} elements for {w[0]} output channels");
        }
        var depthwise = groups == g.Channels && w[0] == g.Channels;
        var pointwise = w[2] == 1 && w[3] == 1 && g.StrideHeight == 1 && g.StrideWidth == 1 && g.PadTop == 0 && g.PadLeft == 0
            && g.OutHeight == g.Height && g.OutWidth == g.Width;
        var columnsPerImage = (long)w[1] * w[2] * w[3] * g.OutHeight * g.OutWidth;
        var chunk = (int)Math.Clamp(ScratchCapFloats / Math.Max(1, columnsPerImage), 1, g.Images);
        if (!depthwise && !pointwise)
        {
            node.ScratchFloats = chunk * columnsPerImage;
        }
        node.State = new State(g, groups, w[0], depthwise, pointwise, chunk);
        node.SetOutput(0, [g.Images, w[0], g.OutHeight, g.OutWidth]);
    }

    public override long Flops(PlanNode node)
    {
        var w = node.InputShape(1);
        return 2L * node.Outputs[0].Elements * w[1] * w[2] * w[3];
    }

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var s = (State)node.State!;
        var g = s.Geometry;
        var x = lowering.View(node.Input(0));
        var w = lowering.View(node.Input(1));
        var bias = lowering.OptionalView(node, 2);
        var y = lowering.View(node.Outputs[0]);
        var activation = node.Node.Activation;
        if (s.Depthwise)
        {
            var count = checked((int)node.Outputs[0].Elements);
            var launch = lowering.Device.Launch(count);
            return () => lowering.Kernels.DepthwiseConv(lowering.Stream, launch, x, w, bias, y, g, count, activation.Unary(), activation.P0, activation.P1);
        }

        var spatial = g.OutHeight * g.OutWidth;
        var groupIn = g.Channels / s.Groups;
        var groupOut = s.OutChannels / s.Groups;
        var rows = groupIn * g.KernelHeight * g.KernelWidth;
        var gemm = lowering.Device.Gemm;
        var scratch = s.Pointwise ? default : lowering.Scratch(node);
        var work = new List<Action>();
        for (var image = 0; image < g.Images; image += s.ChunkImages)
        {
            var images = Math.Min(s.ChunkImages, g.Images - image);
            for (var group = 0; group < s.Groups; group++)
            {
                var weights = w.SubView((long)group * groupOut * rows, (long)groupOut * rows);
                var output = y.SubView(((long)image * s.OutChannels + group * groupOut) * spatial);
                // Per image: Y[image, group] (groupOut × spatial) = W[group] (groupOut × rows) · columns (rows × spatial).
                var shape = new GemmShape(groupOut, spatial, rows, Batch: images, StrideA: 0, StrideB: (long)rows * spatial, StrideC: (long)s.OutChannels * spatial);
                if (s.Pointwise)
                {
                    var input = x.SubView(((long)image * g.Channels + group * groupIn) * spatial);
                    shape = shape with { StrideB = (long)g.Channels * spatial };
                    work.Add(() => gemm.Run(shape, weights, input, output));
                }
                else
                {
                    var count = checked((int)((long)images * rows * spatial));
                    var launch = lowering.Device.Launch(count);
                    var source = x.SubView((long)image * g.Channels * g.Height * g.Width);
                    var channelOffset = group * groupIn;
                    work.Add(() =>
                    {
                        lowering.Kernels.Im2Col(lowering.Stream, launch, source, scratch, g, channelOffset, groupIn, count);
                        gemm.Run(shape, weights, scratch, output);
                    });
                }
            }
        }
        if (bias.Length > 0 || !activation.IsNone)
        {
            work.Add(lowering.ChannelAffine(y, y, default, bias, s.OutChannels, spatial, activation));
        }
        return Lowering.Sequence(work);
    }
}

/// <summary>BatchNormalization (inference) not folded into a Conv: a per-channel scale and shift computed at plan time.</summary>
internal sealed class BatchNormOperator : Operator
{
    public override void Infer(PlanNode node)
    {
        var x = node.InputShape(0);
        if (x.Length < 2)
        {
            throw node.Error($"input {ShapeMath.Format(x)} has no channel dimension");
        }
        node.State = ScaleAndShift(node, x[1]);
        node.SetOutput(0, x);
        for (var i = 1; i < node.Outputs.Length; i++)
        {
            if (node.Outputs[i].Name.Length > 0)
            {
                throw node.Error("training-mode outputs (running mean and variance) are not supported");
            }
            node.SetOutput(i, []);
        }
    }

    public override long Flops(PlanNode node) => 2 * node.Outputs[0].Elements;

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var (scale, shift) = ((HostTensor, HostTensor))node.State!;
        var x = node.Input(0);
        var inner = (int)ShapeMath.Count(x.Shape.AsSpan(2));
        return lowering.ChannelAffine(lowering.View(x), lowering.View(node.Outputs[0]), lowering.Upload(scale), lowering.Upload(shift), x.Shape[1], inner, FusedActivation.None);
    }

    /// <summary>scale' = γ/√(var+ε), shift' = β − mean·scale'.</summary>
    internal static (HostTensor Scale, HostTensor Shift) ScaleAndShift(PlanNode node, int channels)
    {
        var gamma = node.RequireConstant(1, "scale").ToFloats();
        var beta = node.RequireConstant(2, "bias").ToFloats();
        var mean = node.RequireConstant(3, "mean").ToFloats();
        var variance = node.RequireConstant(4, "var").ToFloats();
        if (new[] { gamma, beta, mean, variance }.Any(v => v.Length != channels))
        {
            throw node.Error($"scale, bias, mean and var must each have {channels} elements");
        }
        var epsilon = node.Attributes.Float("epsilon", 1e-5f);
        var scale = new float[channels];
        var shift = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var s = gamma[c] / Math.Sqrt(variance[c] + epsilon);
            scale[c] = (float)s;
            shift[c] = (float)(beta[c] - mean[c] * s);
        }
        return (HostTensor.OfFloats([channels], scale), HostTensor.OfFloats([channels], shift));
    }
}

/// <summary>MaxPool and AveragePool over 2-D windows.</summary>
internal sealed class PoolOperator(bool max) : Operator
{
    public override void Infer(PlanNode node)
    {
        var kernel = node.Attributes.Ints("kernel_shape") ?? throw node.Error("kernel_shape is missing");
        if (kernel.Length != 2)
        {
            throw node.Error("only 2-D pooling is supported");
        }
        if (node.Outputs.Length > 1 && node.Outputs[1].Name.Length > 0)
        {
            throw node.Error("the Indices output is not supported");
        }
        var g = Windows.Geometry(node, node.InputShape(0), (int)kernel[0], (int)kernel[1], node.Attributes.Int("ceil_mode", 0) != 0);
        node.State = g;
        node.SetOutput(0, [g.Images, g.Channels, g.OutHeight, g.OutWidth]);
        for (var i = 1; i < node.Outputs.Length; i++)
        {
            node.SetOutput(i, []);
        }
    }

    public override long Flops(PlanNode node)
    {
        var g = (WindowGeometry)node.State!;
        return node.Outputs[0].Elements * g.KernelHeight * g.KernelWidth;
    }

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var g = (WindowGeometry)node.State!;
        var x = lowering.View(node.Input(0));
        var y = lowering.View(node.Outputs[0]);
        var n = checked((int)y.Length);
        var launch = lowering.Device.Launch(n);
        var includePad = max ? 0 : (int)node.Attributes.Int("count_include_pad", 0);
        var isMax = max ? 1 : 0;
        return () => lowering.Kernels.Pool(lowering.Stream, launch, x, y, g, n, isMax, includePad);
    }
}

internal sealed class GlobalAveragePoolOperator : Operator
{
    public override void Infer(PlanNode node)
    {
        var x = node.InputShape(0);
        if (x.Length < 3)
        {
            throw node.Error($"input {ShapeMath.Format(x)} has no spatial dimensions");
        }
        node.SetOutput(0, [x[0], x[1], .. x.Skip(2).Select(_ => 1)]);
    }

    public override long Flops(PlanNode node) => node.Input(0).Elements;

    public override Action Lower(PlanNode node, Lowering lowering)
    {
        var x = node.Input(0);
        var inner = (int)ShapeMath.Count(x.Shape.AsSpan(2));
        var xView = lowering.View(x);
        var y = lowering.View(node.Outputs[0]);
        var n = checked((int)y.Length);
        var launch = lowering.Device.Launch(n);
        return () => lowering.Kernels.RowMean(lowering.Stream, launch, xView, y, inner, n);
    }
}
