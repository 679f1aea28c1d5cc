using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// VGG without batch normalization: stages of 3×3 Conv-Relu (with bias) each ended by a 2×2 max pool, then
/// three linear layers. torchvision's adaptive average pool to 7×7 is left out: at the native resolution its
/// input is already 7×7, so it changes nothing.
/// </summary>
internal static class Vgg
{
    /// <param name="Stages">Output channels of each convolution, stage by stage.</param>
    /// <param name="Hidden">Width of the two hidden linear layers.</param>
    public sealed record Spec(int[][] Stages, int Hidden, int Classes, int Resolution);

    /// <summary>VGG-16 (configuration D): 138,357,544 parameters.</summary>
    public static Spec Vgg16 { get; } = new([[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]], 4096, 1000, 224);

    public static Spec Vgg16Tiny { get; } = new([[2, 2], [4, 4], [8, 8, 8], [8, 8, 8], [8, 8, 8]], 32, 10, 32);

    public static void Write(LayerWriter layers, Spec spec)
    {
        var x = layers.Input("input", ElementType.Fp32, 3, spec.Resolution, spec.Resolution);
        var index = 0;
        foreach (var stage in spec.Stages)
        {
            foreach (var channels in stage)
            {
                // torchvision numbers the layers of its feature Sequential: each conv is followed by a Relu.
                x = layers.Relu(layers.Conv($"features.{index}", x, channels, kernel: 3, pad: 1));
                index += 2;
            }
            x = layers.MaxPool(x, kernel: 2, stride: 2);
            index++;
        }
        x = layers.Flatten(x);
        x = layers.Relu(layers.Gemm("classifier.0", x, spec.Hidden));
        x = layers.Relu(layers.Gemm("classifier.3", x, spec.Hidden));
        layers.Output(layers.Gemm("classifier.6", x, spec.Classes, output: "logits"));
    }
}
