using OrleansServe.Tensors;
using OrleansServe.Zoo.Architectures;

namespace OrleansServe.Zoo;

/// <summary>The serving configuration written next to a generated model (config.json).</summary>
public sealed record SampleModelConfig(double SloMs, int MaxBatchSize, int Priority);

/// <summary>
/// Generated sample models with seeded weights, so a fresh machine can serve and benchmark without
/// downloading anything. Every model takes a dynamic batch ("batch") as its first dimension.
/// The evaluation models of the papers live in <see cref="ModelZoo"/>.
/// </summary>
public static class SampleZoo
{
    /// <summary>Channels of resnet_small's first stage (the later stages have 2× and 4×).</summary>
    private const int ResNetSmallWidth = 64;

    private static readonly Dictionary<string, ZooEntry> Models = new ZooEntry[]
    {
        new("tabular_mlp", 4, new SampleModelConfig(SloMs: 10, MaxBatchSize: 32, Priority: 1), WriteTabularMlp),
        new("mlp", 1, new SampleModelConfig(SloMs: 20, MaxBatchSize: 32, Priority: 1), WriteMlp),
        new("lenet5", 2, new SampleModelConfig(SloMs: 10, MaxBatchSize: 32, Priority: 1), layers => LeNet.Write(layers, LeNet.Classic)),
        new("resnet_small", 3, new SampleModelConfig(SloMs: 50, MaxBatchSize: 32, Priority: 1), WriteResNetSmall),
    }.ToDictionary(e => e.Name, StringComparer.Ordinal);

    /// <summary>Names of the sample models.</summary>
    public static IReadOnlyList<string> ModelNames { get; } = ["tabular_mlp", "mlp", "lenet5", "resnet_small"];

    /// <summary>The ONNX bytes of a sample model; identical on every call.</summary>
    /// <exception cref="ArgumentException">No sample model has that name.</exception>
    public static byte[] Build(string name) => Lookup(name).BuildGraph().ToBytes();

    /// <summary>The serving configuration of a sample model.</summary>
    /// <exception cref="ArgumentException">No sample model has that name.</exception>
    public static SampleModelConfig GetConfig(string name) => Lookup(name).Config;

    /// <summary>
    /// Writes a model repository: &lt;directory&gt;/&lt;model&gt;/config.json and &lt;directory&gt;/&lt;model&gt;/1/model.onnx.
    /// A model whose folder already exists is left as it is. Returns the models written.
    /// </summary>
    /// <param name="models">Models to write; all sample models when null.</param>
    public static IReadOnlyList<string> WriteRepository(string directory, IEnumerable<string>? models = null)
    {
        // Look every name up before writing any, so a typo does not leave a half-written repository.
        var entries = (models ?? ModelNames).Distinct(StringComparer.Ordinal).Select(Lookup).ToList();
        return ZooEntry.WriteRepository(directory, entries);
    }

    /// <summary>The sample model of that name, for <see cref="ModelZoo"/> to serve alongside its own.</summary>
    internal static bool TryGetEntry(string name, out ZooEntry entry) => Models.TryGetValue(name, out entry!);

    private static ZooEntry Lookup(string name) =>
        Models.TryGetValue(name, out var entry)
            ? entry
            : throw new ArgumentException($"unknown sample model '{name}'; known: {string.Join(", ", ModelNames)}", nameof(name));

    /// <summary>4 → 16 → 3 classifier of four tabular features: small enough to call by hand with curl.</summary>
    private static void WriteTabularMlp(LayerWriter layers)
    {
        var x = layers.Input("features", ElementType.Fp32, 4);
        x = layers.Relu(layers.Gemm("fc1", x, 16));
        layers.Output(layers.Softmax(layers.Gemm("fc2", x, 3), output: "probabilities"));
    }

    /// <summary>784 → 256 → 128 → 10 classifier for flattened 28×28 images.</summary>
    private static void WriteMlp(LayerWriter layers)
    {
        var x = layers.Input("input", ElementType.Fp32, 784);
        x = layers.Relu(layers.Gemm("fc1", x, 256));
        x = layers.Relu(layers.Gemm("fc2", x, 128));
        layers.Output(layers.Softmax(layers.Gemm("fc3", x, 10), output: "probabilities"));
    }

    /// <summary>
    /// A small ResNet for 3×32×32 images: a stem convolution, two blocks at full resolution, then two
    /// blocks that each double the channels and halve the resolution, global average pooling and a
    /// linear head. The width sets the cost: 64 gives a few milliseconds per image on one CPU core.
    /// </summary>
    private static void WriteResNetSmall(LayerWriter layers)
    {
        const int width = ResNetSmallWidth;
        var x = layers.Input("input", ElementType.Fp32, 3, 32, 32);
        x = layers.Relu(layers.BatchNorm("stem.bn", layers.Conv("stem.conv", x, width, kernel: 3, pad: 1, bias: false)));
        x = ResidualBlock(layers, "stage1.block1", x, width, stride: 1);
        x = ResidualBlock(layers, "stage1.block2", x, width, stride: 1);
        x = ResidualBlock(layers, "stage2.block1", x, 2 * width, stride: 2);
        x = ResidualBlock(layers, "stage3.block1", x, 4 * width, stride: 2);
        x = layers.Flatten(layers.GlobalAveragePool(x));
        layers.Output(layers.Gemm("head", x, 10, output: "logits"));
    }

    /// <summary>Conv-BN-Relu-Conv-BN plus the shortcut, then Relu; a strided 1×1 Conv-BN projects the shortcut when the shape changes.</summary>
    private static Activation ResidualBlock(LayerWriter layers, string prefix, Activation x, int outChannels, int stride)
    {
        var y = layers.Conv($"{prefix}.conv1", x, outChannels, kernel: 3, stride: stride, pad: 1, bias: false);
        y = layers.Relu(layers.BatchNorm($"{prefix}.bn1", y));
        y = layers.Conv($"{prefix}.conv2", y, outChannels, kernel: 3, pad: 1, bias: false);
        y = layers.BatchNorm($"{prefix}.bn2", y);
        var shortcut = stride == 1 && x.Channels == outChannels
            ? x
            : layers.BatchNorm($"{prefix}.proj.bn", layers.Conv($"{prefix}.proj.conv", x, outChannels, kernel: 1, stride: stride, bias: false));
        return layers.Relu(layers.Add(y, shortcut));
    }
}
