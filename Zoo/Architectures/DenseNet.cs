using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// torchvision's DenseNet: a 7×7 stem and max pool, dense blocks whose layers (BN → Relu → 1×1 conv → BN →
/// Relu → 3×3 conv) each append <c>Growth</c> channels to everything before them, transitions (BN → Relu → 1×1
/// conv halving the channels → 2×2 average pool), a final BN → Relu, global average pooling and a linear classifier.
/// </summary>
internal static class DenseNet
{
    /// <param name="BottleneckFactor">The 1×1 convolution of a dense layer outputs this many times <paramref name="Growth"/> channels.</param>
    public sealed record Spec(int Growth, int[] Blocks, int InitialFeatures, int BottleneckFactor, int Classes, int Resolution);

    /// <summary>DenseNet-161: 28,681,000 parameters.</summary>
    public static Spec DenseNet161 { get; } = new(48, [6, 12, 36, 24], 96, 4, 1000, 224);

    public static Spec Tiny { get; } = new(4, [2, 2, 2, 2], 8, 2, 10, 32);

    public static void Write(LayerWriter layers, Spec spec)
    {
        var x = layers.Input("input", ElementType.Fp32, 3, spec.Resolution, spec.Resolution);
        x = layers.Relu(layers.BatchNorm("features.norm0", layers.Conv("features.conv0", x, spec.InitialFeatures, kernel: 7, stride: 2, pad: 3, bias: false)));
        x = layers.MaxPool(x, kernel: 3, stride: 2, pad: 1);
        for (var block = 0; block < spec.Blocks.Length; block++)
        {
            for (var layer = 0; layer < spec.Blocks[block]; layer++)
            {
                var prefix = $"features.denseblock{block + 1}.denselayer{layer + 1}";
                var y = layers.Relu(layers.BatchNorm($"{prefix}.norm1", x));
                y = layers.Conv($"{prefix}.conv1", y, spec.BottleneckFactor * spec.Growth, kernel: 1, bias: false);
                y = layers.Relu(layers.BatchNorm($"{prefix}.norm2", y));
                y = layers.Conv($"{prefix}.conv2", y, spec.Growth, kernel: 3, pad: 1, bias: false);
                // One running concatenation: the same values torchvision gets by concatenating the list of earlier outputs.
                x = layers.Concat([x, y]);
            }
            if (block < spec.Blocks.Length - 1)
            {
                var prefix = $"features.transition{block + 1}";
                x = layers.Relu(layers.BatchNorm($"{prefix}.norm", x));
                x = layers.Conv($"{prefix}.conv", x, x.Channels / 2, kernel: 1, bias: false);
                x = layers.AveragePool(x, kernel: 2, stride: 2);
            }
        }
        x = layers.Relu(layers.BatchNorm("features.norm5", x));
        x = layers.Flatten(layers.GlobalAveragePool(x));
        layers.Output(layers.Gemm("classifier", x, spec.Classes, output: "logits"));
    }
}
