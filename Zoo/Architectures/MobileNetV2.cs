using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// torchvision's MobileNetV2: a strided 3×3 stem, inverted residual blocks (1×1 expand → 3×3 depthwise →
/// 1×1 linear projection, with a shortcut where the shape allows), a 1×1 convolution to the last width, global
/// average pooling and a linear classifier. Activations are ReLU6, written as Clip(0, 6).
/// </summary>
internal static class MobileNetV2
{
    /// <summary>A run of <paramref name="Repeats"/> blocks; the first has the stride.</summary>
    public sealed record Stage(int Expansion, int Channels, int Repeats, int Stride);

    public sealed record Spec(int Stem, Stage[] Stages, int Last, int Classes, int Resolution);

    /// <summary>Width multiplier 1.0: 3,504,872 parameters.</summary>
    public static Spec Full { get; } = new(32,
        [new(1, 16, 1, 1), new(6, 24, 2, 2), new(6, 32, 3, 2), new(6, 64, 4, 2), new(6, 96, 3, 1), new(6, 160, 3, 2), new(6, 320, 1, 1)],
        1280, 1000, 224);

    public static Spec Tiny { get; } = new(4,
        [new(1, 2, 1, 1), new(6, 3, 2, 2), new(6, 4, 2, 2), new(6, 6, 2, 2), new(6, 8, 1, 1), new(6, 10, 2, 2), new(6, 16, 1, 1)],
        32, 10, 32);

    public static void Write(LayerWriter layers, Spec spec)
    {
        var x = layers.Input("input", ElementType.Fp32, 3, spec.Resolution, spec.Resolution);
        x = ConvBnRelu6(layers, "features.0", x, spec.Stem, kernel: 3, stride: 2);
        var index = 1;
        foreach (var stage in spec.Stages)
        {
            for (var i = 0; i < stage.Repeats; i++)
            {
                x = InvertedResidual(layers, $"features.{index++}", x, stage.Channels, i == 0 ? stage.Stride : 1, stage.Expansion);
            }
        }
        x = ConvBnRelu6(layers, $"features.{index}", x, spec.Last, kernel: 1, stride: 1);
        x = layers.Flatten(layers.GlobalAveragePool(x));
        layers.Output(layers.Gemm("classifier.1", x, spec.Classes, output: "logits"));
    }

    private static Activation InvertedResidual(LayerWriter layers, string prefix, Activation x, int outChannels, int stride, int expansion)
    {
        var hidden = x.Channels * expansion;
        var y = expansion == 1 ? x : ConvBnRelu6(layers, $"{prefix}.expand", x, hidden, kernel: 1, stride: 1);
        y = ConvBnRelu6(layers, $"{prefix}.depthwise", y, hidden, kernel: 3, stride: stride, groups: hidden);
        y = layers.BatchNorm($"{prefix}.project.bn", layers.Conv($"{prefix}.project.conv", y, outChannels, kernel: 1, bias: false));
        return stride == 1 && x.Channels == outChannels ? layers.Add(y, x) : y;
    }

    private static Activation ConvBnRelu6(LayerWriter layers, string prefix, Activation x, int channels, int kernel, int stride, int groups = 1)
    {
        var y = layers.Conv($"{prefix}.conv", x, channels, kernel, stride, pad: kernel / 2, bias: false, groups: groups);
        return layers.Relu6(layers.BatchNorm($"{prefix}.bn", y));
    }
}
