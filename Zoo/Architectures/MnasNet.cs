using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// torchvision's MNASNet (depth multiplier 1.0 for mnasnet1_0): a strided 3×3 stem, a depthwise separable
/// block, six stacks of inverted residual blocks with 3×3 or 5×5 depthwise kernels (ReLU activations), a 1×1
/// convolution to 1280 channels, global average pooling and a linear classifier.
/// </summary>
internal static class MnasNet
{
    /// <param name="Depths">Channels of the stem, the separable block and the six stacks.</param>
    /// <param name="Repeats">Blocks in each of the six stacks.</param>
    public sealed record Spec(int[] Depths, int[] Repeats, int Last, int Classes, int Resolution);

    /// <summary>4,383,312 parameters.</summary>
    public static Spec Full { get; } = new([32, 16, 24, 40, 80, 96, 192, 320], [3, 3, 3, 2, 4, 1], 1280, 1000, 224);

    public static Spec Tiny { get; } = new([4, 2, 3, 4, 6, 8, 10, 16], [2, 2, 2, 2, 2, 1], 32, 10, 32);

    /// <summary>Depthwise kernel, first stride and expansion of each stack (the same at every depth multiplier).</summary>
    private static readonly (int Kernel, int Stride, int Expansion)[] Stacks = [(3, 2, 3), (5, 2, 3), (5, 2, 6), (3, 1, 6), (5, 2, 6), (3, 1, 6)];

    public static void Write(LayerWriter layers, Spec spec)
    {
        var depths = spec.Depths;
        var x = layers.Input("input", ElementType.Fp32, 3, spec.Resolution, spec.Resolution);
        x = ConvBn(layers, "layers.0", x, depths[0], kernel: 3, stride: 2, relu: true);
        x = ConvBn(layers, "layers.3", x, depths[0], kernel: 3, stride: 1, relu: true, groups: depths[0]);
        x = ConvBn(layers, "layers.6", x, depths[1], kernel: 1, stride: 1, relu: false);
        for (var stack = 0; stack < Stacks.Length; stack++)
        {
            var (kernel, stride, expansion) = Stacks[stack];
            for (var i = 0; i < spec.Repeats[stack]; i++)
            {
                x = InvertedResidual(layers, $"layers.{8 + stack}.{i}", x, depths[stack + 2], kernel, i == 0 ? stride : 1, expansion);
            }
        }
        x = ConvBn(layers, "layers.14", x, spec.Last, kernel: 1, stride: 1, relu: true);
        x = layers.Flatten(layers.GlobalAveragePool(x));
        layers.Output(layers.Gemm("classifier.1", x, spec.Classes, output: "logits"));
    }

    private static Activation InvertedResidual(LayerWriter layers, string prefix, Activation x, int outChannels, int kernel, int stride, int expansion)
    {
        var middle = x.Channels * expansion;
        var y = ConvBn(layers, $"{prefix}.expand", x, middle, kernel: 1, stride: 1, relu: true);
        y = ConvBn(layers, $"{prefix}.depthwise", y, middle, kernel, stride, relu: true, groups: middle);
        y = ConvBn(layers, $"{prefix}.project", y, outChannels, kernel: 1, stride: 1, relu: false);
        return stride == 1 && x.Channels == outChannels ? layers.Add(y, x) : y;
    }

    private static Activation ConvBn(LayerWriter layers, string prefix, Activation x, int channels, int kernel, int stride, bool relu, int groups = 1)
    {
        var y = layers.BatchNorm($"{prefix}.bn", layers.Conv($"{prefix}.conv", x, channels, kernel, stride, pad: kernel / 2, bias: false, groups: groups));
        return relu ? layers.Relu(y) : y;
    }
}
