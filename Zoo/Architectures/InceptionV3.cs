using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// torchvision's Inception v3 for 299×299 images without the auxiliary classifier (a training-time head that
/// inference drops). Every convolution is Conv (no bias) → BatchNorm (ε = 0.001) → Relu; the 7×7 and 3×3
/// factorizations use 1×n and n×1 kernels; branch pools are 3×3 average pools that count the padding.
/// </summary>
internal static class InceptionV3
{
    /// <param name="Divisor">Every channel count is divided by this (at least one channel remains).</param>
    /// <param name="Resolution">Input height and width; 75 is the smallest the stride-2 stages allow.</param>
    public sealed record Spec(int Divisor, int Classes, int Resolution);

    /// <summary>
    /// 23,834,568 parameters: torchvision's published 27,161,264 counts the auxiliary classifier's 3,326,696
    /// (768→128 1×1 and 128→768 5×5 convolutions with batch norm, and a 768→1000 linear layer).
    /// </summary>
    public static Spec Full { get; } = new(1, 1000, 299);

    public static Spec Tiny { get; } = new(32, 10, 75);

    public static void Write(LayerWriter layers, Spec spec)
    {
        var n = new Writer(layers, spec.Divisor);
        var x = layers.Input("input", ElementType.Fp32, 3, spec.Resolution, spec.Resolution);
        x = n.Conv("Conv2d_1a_3x3", x, 32, 3, stride: 2);
        x = n.Conv("Conv2d_2a_3x3", x, 32, 3);
        x = n.Conv("Conv2d_2b_3x3", x, 64, 3, pad: 1);
        x = layers.MaxPool(x, kernel: 3, stride: 2);
        x = n.Conv("Conv2d_3b_1x1", x, 80, 1);
        x = n.Conv("Conv2d_4a_3x3", x, 192, 3);
        x = layers.MaxPool(x, kernel: 3, stride: 2);
        x = n.InceptionA("Mixed_5b", x, poolFeatures: 32);
        x = n.InceptionA("Mixed_5c", x, poolFeatures: 64);
        x = n.InceptionA("Mixed_5d", x, poolFeatures: 64);
        x = n.InceptionB("Mixed_6a", x);
        x = n.InceptionC("Mixed_6b", x, channels7x7: 128);
        x = n.InceptionC("Mixed_6c", x, channels7x7: 160);
        x = n.InceptionC("Mixed_6d", x, channels7x7: 160);
        x = n.InceptionC("Mixed_6e", x, channels7x7: 192);
        x = n.InceptionD("Mixed_7a", x);
        x = n.InceptionE("Mixed_7b", x);
        x = n.InceptionE("Mixed_7c", x);
        x = layers.Flatten(layers.GlobalAveragePool(x));
        layers.Output(layers.Gemm("fc", x, spec.Classes, output: "logits"));
    }

    /// <summary>Writes the blocks with every channel count divided by the spec's divisor.</summary>
    private sealed class Writer(LayerWriter layers, int divisor)
    {
        public Activation Conv(string prefix, Activation x, int channels, int kernel, int stride = 1, int pad = 0) =>
            Conv(prefix, x, channels, (kernel, kernel), (pad, pad), stride);

        public Activation Conv(string prefix, Activation x, int channels, (int H, int W) kernel, (int H, int W) pad, int stride = 1)
        {
            var y = layers.Conv($"{prefix}.conv", x, Math.Max(1, channels / divisor), kernel, pad, stride, bias: false);
            return layers.Relu(layers.BatchNorm($"{prefix}.bn", y, epsilon: 1e-3f));
        }

        /// <summary>35×35 block: 1×1; 1×1 → 5×5; 1×1 → 3×3 → 3×3; average pool → 1×1.</summary>
        public Activation InceptionA(string prefix, Activation x, int poolFeatures)
        {
            var branch1x1 = Conv($"{prefix}.branch1x1", x, 64, 1);
            var branch5x5 = Conv($"{prefix}.branch5x5_2", Conv($"{prefix}.branch5x5_1", x, 48, 1), 64, 5, pad: 2);
            var branch3x3 = Conv($"{prefix}.branch3x3dbl_1", x, 64, 1);
            branch3x3 = Conv($"{prefix}.branch3x3dbl_2", branch3x3, 96, 3, pad: 1);
            branch3x3 = Conv($"{prefix}.branch3x3dbl_3", branch3x3, 96, 3, pad: 1);
            var pool = Conv($"{prefix}.branch_pool", PoolBranch(x), poolFeatures, 1);
            return layers.Concat([branch1x1, branch5x5, branch3x3, pool]);
        }

        /// <summary>35→17 reduction: strided 3×3; 1×1 → 3×3 → strided 3×3; strided max pool.</summary>
        public Activation InceptionB(string prefix, Activation x)
        {
            var branch3x3 = Conv($"{prefix}.branch3x3", x, 384, 3, stride: 2);
            var branchDouble = Conv($"{prefix}.branch3x3dbl_1", x, 64, 1);
            branchDouble = Conv($"{prefix}.branch3x3dbl_2", branchDouble, 96, 3, pad: 1);
            branchDouble = Conv($"{prefix}.branch3x3dbl_3", branchDouble, 96, 3, stride: 2);
            return layers.Concat([branch3x3, branchDouble, layers.MaxPool(x, kernel: 3, stride: 2)]);
        }

        /// <summary>17×17 block with 7×7 convolutions factorized into 1×7 and 7×1.</summary>
        public Activation InceptionC(string prefix, Activation x, int channels7x7)
        {
            var branch1x1 = Conv($"{prefix}.branch1x1", x, 192, 1);
            var branch7x7 = Conv($"{prefix}.branch7x7_1", x, channels7x7, 1);
            branch7x7 = Conv($"{prefix}.branch7x7_2", branch7x7, channels7x7, (1, 7), (0, 3));
            branch7x7 = Conv($"{prefix}.branch7x7_3", branch7x7, 192, (7, 1), (3, 0));
            var branchDouble = Conv($"{prefix}.branch7x7dbl_1", x, channels7x7, 1);
            branchDouble = Conv($"{prefix}.branch7x7dbl_2", branchDouble, channels7x7, (7, 1), (3, 0));
            branchDouble = Conv($"{prefix}.branch7x7dbl_3", branchDouble, channels7x7, (1, 7), (0, 3));
            branchDouble = Conv($"{prefix}.branch7x7dbl_4", branchDouble, channels7x7, (7, 1), (3, 0));
            branchDouble = Conv($"{prefix}.branch7x7dbl_5", branchDouble, 192, (1, 7), (0, 3));
            var pool = Conv($"{prefix}.branch_pool", PoolBranch(x), 192, 1);
            return layers.Concat([branch1x1, branch7x7, branchDouble, pool]);
        }

        /// <summary>17→8 reduction: 1×1 → strided 3×3; 1×1 → 1×7 → 7×1 → strided 3×3; strided max pool.</summary>
        public Activation InceptionD(string prefix, Activation x)
        {
            var branch3x3 = Conv($"{prefix}.branch3x3_2", Conv($"{prefix}.branch3x3_1", x, 192, 1), 320, 3, stride: 2);
            var branch7x7 = Conv($"{prefix}.branch7x7x3_1", x, 192, 1);
            branch7x7 = Conv($"{prefix}.branch7x7x3_2", branch7x7, 192, (1, 7), (0, 3));
            branch7x7 = Conv($"{prefix}.branch7x7x3_3", branch7x7, 192, (7, 1), (3, 0));
            branch7x7 = Conv($"{prefix}.branch7x7x3_4", branch7x7, 192, 3, stride: 2);
            return layers.Concat([branch3x3, branch7x7, layers.MaxPool(x, kernel: 3, stride: 2)]);
        }

        /// <summary>8×8 block whose 3×3 branches split into parallel 1×3 and 3×1 convolutions.</summary>
        public Activation InceptionE(string prefix, Activation x)
        {
            var branch1x1 = Conv($"{prefix}.branch1x1", x, 320, 1);
            var branch3x3 = Conv($"{prefix}.branch3x3_1", x, 384, 1);
            branch3x3 = layers.Concat(
            [
                Conv($"{prefix}.branch3x3_2a", branch3x3, 384, (1, 3), (0, 1)),
                Conv($"{prefix}.branch3x3_2b", branch3x3, 384, (3, 1), (1, 0)),
            ]);
            var branchDouble = Conv($"{prefix}.branch3x3dbl_1", x, 448, 1);
            branchDouble = Conv($"{prefix}.branch3x3dbl_2", branchDouble, 384, 3, pad: 1);
            branchDouble = layers.Concat(
            [
                Conv($"{prefix}.branch3x3dbl_3a", branchDouble, 384, (1, 3), (0, 1)),
                Conv($"{prefix}.branch3x3dbl_3b", branchDouble, 384, (3, 1), (1, 0)),
            ]);
            var pool = Conv($"{prefix}.branch_pool", PoolBranch(x), 192, 1);
            return layers.Concat([branch1x1, branch3x3, branchDouble, pool]);
        }

        private Activation PoolBranch(Activation x) => layers.AveragePool(x, kernel: 3, stride: 1, pad: 1, countIncludePad: true);
    }
}
