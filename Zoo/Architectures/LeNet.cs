using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>LeNet-5 for 1×28×28 images: two Conv-Relu-MaxPool stages (the first pads to keep 28×28) and three linear layers.</summary>
internal static class LeNet
{
    /// <summary>Widths of a LeNet: the two convolutions' channels, the two hidden linear layers, and the classes.</summary>
    public sealed record Spec(int Conv1, int Conv2, int Fc1, int Fc2, int Classes);

    /// <summary>The classic 6-16-120-84-10 network (61,706 parameters).</summary>
    public static Spec Classic { get; } = new(6, 16, 120, 84, 10);

    public static Spec Tiny { get; } = new(2, 4, 16, 12, 10);

    public static void Write(LayerWriter layers, Spec spec)
    {
        var x = layers.Input("input", ElementType.Fp32, 1, 28, 28);
        x = layers.MaxPool(layers.Relu(layers.Conv("conv1", x, spec.Conv1, kernel: 5, pad: 2)), kernel: 2, stride: 2);
        x = layers.MaxPool(layers.Relu(layers.Conv("conv2", x, spec.Conv2, kernel: 5)), kernel: 2, stride: 2);
        x = layers.Flatten(x);
        x = layers.Relu(layers.Gemm("fc1", x, spec.Fc1));
        x = layers.Relu(layers.Gemm("fc2", x, spec.Fc2));
        layers.Output(layers.Softmax(layers.Gemm("fc3", x, spec.Classes), output: "probabilities"));
    }
}
