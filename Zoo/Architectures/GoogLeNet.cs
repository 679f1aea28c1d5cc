using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// torchvision's GoogLeNet (Inception v1) without the auxiliary classifiers, which inference drops. Every
/// convolution is Conv (no bias) → BatchNorm (ε = 0.001) → Relu, and, as in torchvision, the "5×5" branch
/// uses a 3×3 kernel.
/// </summary>
internal static class GoogLeNet
{
    /// <param name="Divisor">Every channel count is divided by this (at least one channel remains).</param>
    public sealed record Spec(int Divisor, int Classes, int Resolution);

    /// <summary>6,624,904 parameters.</summary>
    public static Spec Full { get; } = new(1, 1000, 224);

    public static Spec Tiny { get; } = new(16, 10, 32);

    /// <summary>One Inception block: 1×1; 1×1 → 3×3; 1×1 → "5×5"; 3×3 max pool → 1×1.</summary>
    private sealed record Block(string Name, int Ch1x1, int Ch3x3Reduce, int Ch3x3, int Ch5x5Reduce, int Ch5x5, int PoolProjection);

    private static readonly Block[] Stage3 = [new("inception3a", 64, 96, 128, 16, 32, 32), new("inception3b", 128, 128, 192, 32, 96, 64)];

    private static readonly Block[] Stage4 =
    [
        new("inception4a", 192, 96, 208, 16, 48, 64),
        new("inception4b", 160, 112, 224, 24, 64, 64),
        new("inception4c", 128, 128, 256, 24, 64, 64),
        new("inception4d", 112, 144, 288, 32, 64, 64),
        new("inception4e", 256, 160, 320, 32, 128, 128),
    ];

    private static readonly Block[] Stage5 = [new("inception5a", 256, 160, 320, 32, 128, 128), new("inception5b", 384, 192, 384, 48, 128, 128)];

    public static void Write(LayerWriter layers, Spec spec)
    {
        int C(int channels) => Math.Max(1, channels / spec.Divisor);

        var x = layers.Input("input", ElementType.Fp32, 3, spec.Resolution, spec.Resolution);
        x = BasicConv(layers, "conv1", x, C(64), kernel: 7, stride: 2, pad: 3);
        x = layers.MaxPool(x, kernel: 3, stride: 2, ceilMode: true);
        x = BasicConv(layers, "conv2", x, C(64), kernel: 1);
        x = BasicConv(layers, "conv3", x, C(192), kernel: 3, pad: 1);
        x = layers.MaxPool(x, kernel: 3, stride: 2, ceilMode: true);
        x = Stage3.Aggregate(x, (y, block) => Inception(layers, block, y, C));
        x = layers.MaxPool(x, kernel: 3, stride: 2, ceilMode: true);
        x = Stage4.Aggregate(x, (y, block) => Inception(layers, block, y, C));
        x = layers.MaxPool(x, kernel: 2, stride: 2, ceilMode: true);
        x = Stage5.Aggregate(x, (y, block) => Inception(layers, block, y, C));
        x = layers.Flatten(layers.GlobalAveragePool(x));
        layers.Output(layers.Gemm("fc", x, spec.Classes, output: "logits"));
    }

    private static Activation Inception(LayerWriter layers, Block block, Activation x, Func<int, int> c)
    {
        var branch1 = BasicConv(layers, $"{block.Name}.branch1", x, c(block.Ch1x1), kernel: 1);
        var branch2 = BasicConv(layers, $"{block.Name}.branch2.0", x, c(block.Ch3x3Reduce), kernel: 1);
        branch2 = BasicConv(layers, $"{block.Name}.branch2.1", branch2, c(block.Ch3x3), kernel: 3, pad: 1);
        var branch3 = BasicConv(layers, $"{block.Name}.branch3.0", x, c(block.Ch5x5Reduce), kernel: 1);
        branch3 = BasicConv(layers, $"{block.Name}.branch3.1", branch3, c(block.Ch5x5), kernel: 3, pad: 1);
        var branch4 = layers.MaxPool(x, kernel: 3, stride: 1, pad: 1, ceilMode: true);
        branch4 = BasicConv(layers, $"{block.Name}.branch4.1", branch4, c(block.PoolProjection), kernel: 1);
        return layers.Concat([branch1, branch2, branch3, branch4]);
    }

    private static Activation BasicConv(LayerWriter layers, string prefix, Activation x, int channels, int kernel, int stride = 1, int pad = 0) =>
        layers.Relu(layers.BatchNorm($"{prefix}.bn", layers.Conv($"{prefix}.conv", x, channels, kernel, stride, pad, bias: false), epsilon: 1e-3f));
}
