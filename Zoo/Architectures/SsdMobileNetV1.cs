using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// SSD with a MobileNetV1 backbone in the TensorFlow Object Detection API layout (ssd_mobilenet_v1_coco) for
/// 300×300 images: the backbone's 13 depthwise separable blocks (Conv → BN → ReLU6, as Clip(0, 6)); feature maps
/// taken after blocks 11 (19×19×512) and 13 (10×10×1024); four extra 1×1 → strided 3×3 layers (5×5, 3×3, 2×2,
/// 1×1); and on each of the six maps a 1×1 box convolution and a 1×1 class convolution, with 3 anchors per cell
/// on the first map and 6 on the others: 1917 anchors. Outputs are raw box encodings [batch, anchors, 4] and
/// sigmoid class scores [batch, anchors, classes]; anchor decoding and non-maximum suppression are left to the caller.
/// TensorFlow's SAME padding is written as symmetric padding, which gives the same map sizes here.
/// </summary>
internal static class SsdMobileNetV1
{
    /// <param name="Divisor">Every channel count is divided by this (at least one channel remains).</param>
    /// <param name="Classes">Scores per anchor, background included (91 for COCO's 90 classes).</param>
    public sealed record Spec(int Divisor, int Classes, int Resolution);

    /// <summary>
    /// 6,819,839 parameters with batch-norm scales and shifts; the published 6.807 M (OpenVINO Open Model Zoo,
    /// ssd_mobilenet_v1_coco) is the same network with each batch norm folded into a convolution bias.
    /// </summary>
    public static Spec Full { get; } = new(1, 91, 300);

    public static Spec Tiny { get; } = new(32, 11, 64);

    /// <summary>Output channels and stride of the backbone's depthwise separable blocks.</summary>
    private static readonly (int Channels, int Stride)[] Backbone =
        [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)];

    /// <summary>The 1×1 and strided 3×3 widths of each extra feature layer.</summary>
    private static readonly (int Reduce, int Channels)[] Extras = [(256, 512), (128, 256), (128, 256), (64, 128)];

    /// <summary>Anchors per cell on each feature map, largest map first.</summary>
    private static readonly int[] Anchors = [3, 6, 6, 6, 6, 6];

    private const int BoxCode = 4;

    public static void Write(LayerWriter layers, Spec spec)
    {
        int C(int channels) => Math.Max(1, channels / spec.Divisor);

        var x = layers.Input("input", ElementType.Fp32, 3, spec.Resolution, spec.Resolution);
        x = ConvBnRelu6(layers, "backbone.conv0", x, C(32), kernel: 3, stride: 2);
        var maps = new List<Activation>();
        for (var i = 0; i < Backbone.Length; i++)
        {
            var (channels, stride) = Backbone[i];
            x = ConvBnRelu6(layers, $"backbone.block{i + 1}.depthwise", x, x.Channels, kernel: 3, stride: stride, groups: x.Channels);
            x = ConvBnRelu6(layers, $"backbone.block{i + 1}.pointwise", x, C(channels), kernel: 1, stride: 1);
            if (i + 1 is 11 or 13)
            {
                maps.Add(x);
            }
        }
        for (var i = 0; i < Extras.Length; i++)
        {
            x = ConvBnRelu6(layers, $"extras.{i}.reduce", x, C(Extras[i].Reduce), kernel: 1, stride: 1);
            x = ConvBnRelu6(layers, $"extras.{i}.expand", x, C(Extras[i].Channels), kernel: 3, stride: 2);
            maps.Add(x);
        }

        var boxes = new List<Activation>();
        var scores = new List<Activation>();
        for (var i = 0; i < maps.Count; i++)
        {
            boxes.Add(Head(layers, $"heads.{i}.box", maps[i], Anchors[i], BoxCode));
            scores.Add(Head(layers, $"heads.{i}.class", maps[i], Anchors[i], spec.Classes));
        }
        layers.Output(layers.Concat(boxes, axis: 1, output: "boxes"));
        layers.Output(layers.Sigmoid(layers.Concat(scores, axis: 1), output: "scores"));
    }

    /// <summary>A 1×1 prediction convolution, rearranged from [batch, anchors·values, H, W] to [batch, H·W·anchors, values].</summary>
    private static Activation Head(LayerWriter layers, string prefix, Activation map, int anchors, int values)
    {
        var y = layers.Conv(prefix, map, anchors * values, kernel: 1);
        return layers.Reshape(layers.Transpose(y, 0, 2, 3, 1), 0, -1, values);
    }

    private static Activation ConvBnRelu6(LayerWriter layers, string prefix, Activation x, int channels, int kernel, int stride, int groups = 1)
    {
        var y = layers.Conv($"{prefix}.conv", x, channels, kernel, stride, pad: kernel / 2, bias: false, groups: groups);
        return layers.Relu6(layers.BatchNorm($"{prefix}.bn", y, epsilon: 1e-3f));
    }
}
