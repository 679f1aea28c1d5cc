using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// torchvision's bottleneck ResNet (v1.5: the stride sits on the 3×3 convolution): a 7×7 stem and max pool,
/// four stages of 1×1 → 3×3 → 1×1 (×4 wider) blocks whose first block projects the shortcut, then global
/// average pooling and a linear classifier.
/// </summary>
internal static class ResNet
{
    /// <param name="Blocks">Bottleneck blocks per stage.</param>
    /// <param name="Width">Inner width of the first stage; each stage doubles it and outputs 4× the inner width.</param>
    public sealed record Spec(int[] Blocks, int Width, int Classes, int Resolution);

    /// <summary>25,557,032 parameters.</summary>
    public static Spec ResNet50 { get; } = new([3, 4, 6, 3], 64, 1000, 224);

    /// <summary>60,192,808 parameters.</summary>
    public static Spec ResNet152 { get; } = new([3, 8, 36, 3], 64, 1000, 224);

    // Two blocks per stage keep both block kinds (projected and identity shortcut) in every stage.
    public static Spec ResNet50Tiny { get; } = new([2, 2, 2, 2], 2, 10, 32);

    public static Spec ResNet152Tiny { get; } = new([2, 3, 4, 2], 2, 10, 32);

    private const int Expansion = 4;

    public static void Write(LayerWriter layers, Spec spec)
    {
        var x = layers.Input("input", ElementType.Fp32, 3, spec.Resolution, spec.Resolution);
        x = layers.Relu(layers.BatchNorm("bn1", layers.Conv("conv1", x, spec.Width, kernel: 7, stride: 2, pad: 3, bias: false)));
        x = layers.MaxPool(x, kernel: 3, stride: 2, pad: 1);
        for (var stage = 0; stage < spec.Blocks.Length; stage++)
        {
            var width = spec.Width << stage;
            for (var block = 0; block < spec.Blocks[stage]; block++)
            {
                var stride = stage > 0 && block == 0 ? 2 : 1;
                x = Bottleneck(layers, $"layer{stage + 1}.{block}", x, width, stride);
            }
        }
        x = layers.Flatten(layers.GlobalAveragePool(x));
        layers.Output(layers.Gemm("fc", x, spec.Classes, output: "logits"));
    }

    private static Activation Bottleneck(LayerWriter layers, string prefix, Activation x, int width, int stride)
    {
        var y = layers.Relu(layers.BatchNorm($"{prefix}.bn1", layers.Conv($"{prefix}.conv1", x, width, kernel: 1, bias: false)));
        y = layers.Relu(layers.BatchNorm($"{prefix}.bn2", layers.Conv($"{prefix}.conv2", y, width, kernel: 3, stride: stride, pad: 1, bias: false)));
        y = layers.BatchNorm($"{prefix}.bn3", layers.Conv($"{prefix}.conv3", y, width * Expansion, kernel: 1, bias: false));
        var shortcut = stride == 1 && x.Channels == width * Expansion
            ? x
            : layers.BatchNorm($"{prefix}.downsample.1", layers.Conv($"{prefix}.downsample.0", x, width * Expansion, kernel: 1, stride: stride, bias: false));
        return layers.Relu(layers.Add(y, shortcut));
    }
}
