using System.Text.Json;
using OrleansServe.Engine.Onnx;
using OrleansServe.Engine.Tensors;

namespace OrleansServe.Engine.Zoo;

/// <summary>The serving configuration written next to a sample model (config.json).</summary>
public sealed record SampleModelConfig(double SloMs, int MaxBatchSize, int Priority);

/// <summary>
/// Generated sample models with seeded weights, so a fresh machine can serve and benchmark without
/// downloading anything. Every model takes a dynamic batch ("batch") as its first dimension.
/// </summary>
public static class SampleZoo
{
    private const string Batch = "batch";

    /// <summary>Channels of resnet_small's first stage (the later stages have 2× and 4×).</summary>
    private const int ResNetSmallWidth = 64;

    private static readonly Dictionary<string, (Func<byte[]> Build, SampleModelConfig Config)> Models = new(StringComparer.Ordinal)
    {
        ["tabular_mlp"] = (BuildTabularMlp, new SampleModelConfig(SloMs: 10, MaxBatchSize: 32, Priority: 1)),
        ["mlp"] = (BuildMlp, new SampleModelConfig(SloMs: 20, MaxBatchSize: 32, Priority: 1)),
        ["lenet5"] = (BuildLeNet5, new SampleModelConfig(SloMs: 10, MaxBatchSize: 32, Priority: 1)),
        ["resnet_small"] = (BuildResNetSmall, new SampleModelConfig(SloMs: 50, MaxBatchSize: 32, Priority: 1)),
    };

    private static readonly JsonSerializerOptions ConfigJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>Names of the sample models.</summary>
    public static IReadOnlyList<string> ModelNames { get; } = ["tabular_mlp", "mlp", "lenet5", "resnet_small"];

    /// <summary>The ONNX bytes of a sample model; identical on every call.</summary>
    /// <exception cref="ArgumentException">No sample model has that name.</exception>
    public static byte[] Build(string name) => Lookup(name).Build();

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
        var names = (models ?? ModelNames).Distinct(StringComparer.Ordinal).ToList();
        // Check every name before writing any, so a typo does not leave a half-written repository.
        var entries = names.Select(name => (Name: name, Entry: Lookup(name))).ToList();
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var (name, entry) in entries)
        {
            var modelDirectory = Path.Combine(directory, name);
            if (Directory.Exists(modelDirectory))
            {
                continue;
            }
            Directory.CreateDirectory(Path.Combine(modelDirectory, "1"));
            File.WriteAllBytes(Path.Combine(modelDirectory, "1", "model.onnx"), entry.Build());
            File.WriteAllText(Path.Combine(modelDirectory, "config.json"), JsonSerializer.Serialize(entry.Config, ConfigJson));
            written.Add(name);
        }
        return written;
    }

    private static (Func<byte[]> Build, SampleModelConfig Config) Lookup(string name) =>
        Models.TryGetValue(name, out var entry)
            ? entry
            : throw new ArgumentException($"unknown sample model '{name}'; known: {string.Join(", ", ModelNames)}", nameof(name));

    /// <summary>4 → 16 → 3 classifier of four tabular features: small enough to call by hand with curl.</summary>
    private static byte[] BuildTabularMlp()
    {
        var layers = new LayerWriter(new OnnxGraphBuilder("tabular_mlp"), seed: 4);
        var x = layers.Graph.AddInput("features", ElementType.Fp32, Batch, 4);
        x = layers.Relu(layers.Gemm("fc1", x, 4, 16));
        layers.Softmax(layers.Gemm("fc2", x, 16, 3), output: "probabilities");
        layers.Graph.AddOutput("probabilities", ElementType.Fp32, Batch, 3);
        return layers.Graph.ToBytes();
    }

    /// <summary>784 → 256 → 128 → 10 classifier for flattened 28×28 images.</summary>
    private static byte[] BuildMlp()
    {
        var layers = new LayerWriter(new OnnxGraphBuilder("mlp"), seed: 1);
        var x = layers.Graph.AddInput("input", ElementType.Fp32, Batch, 784);
        x = layers.Relu(layers.Gemm("fc1", x, 784, 256));
        x = layers.Relu(layers.Gemm("fc2", x, 256, 128));
        layers.Softmax(layers.Gemm("fc3", x, 128, 10), output: "probabilities");
        layers.Graph.AddOutput("probabilities", ElementType.Fp32, Batch, 10);
        return layers.Graph.ToBytes();
    }

    /// <summary>LeNet-5 for 1×28×28 images (the first convolution pads to keep 28×28).</summary>
    private static byte[] BuildLeNet5()
    {
        var layers = new LayerWriter(new OnnxGraphBuilder("lenet5"), seed: 2);
        var x = layers.Graph.AddInput("input", ElementType.Fp32, Batch, 1, 28, 28);
        x = layers.MaxPool(layers.Relu(layers.Conv("conv1", x, 1, 6, kernel: 5, pad: 2)), kernel: 2, stride: 2);
        x = layers.MaxPool(layers.Relu(layers.Conv("conv2", x, 6, 16, kernel: 5)), kernel: 2, stride: 2);
        x = layers.Flatten(x);
        x = layers.Relu(layers.Gemm("fc1", x, 400, 120));
        x = layers.Relu(layers.Gemm("fc2", x, 120, 84));
        layers.Softmax(layers.Gemm("fc3", x, 84, 10), output: "probabilities");
        layers.Graph.AddOutput("probabilities", ElementType.Fp32, Batch, 10);
        return layers.Graph.ToBytes();
    }

    /// <summary>
    /// A small ResNet for 3×32×32 images: a stem convolution, two blocks at full resolution, then two
    /// blocks that each double the channels and halve the resolution, global average pooling and a
    /// linear head. The width sets the cost: 64 gives a few milliseconds per image on one CPU core.
    /// </summary>
    private static byte[] BuildResNetSmall()
    {
        const int width = ResNetSmallWidth;
        var layers = new LayerWriter(new OnnxGraphBuilder("resnet_small"), seed: 3);
        var x = layers.Graph.AddInput("input", ElementType.Fp32, Batch, 3, 32, 32);
        x = layers.Relu(layers.BatchNorm("stem.bn", layers.Conv("stem.conv", x, 3, width, kernel: 3, pad: 1, bias: false), width));
        x = ResidualBlock(layers, "stage1.block1", x, width, width, stride: 1);
        x = ResidualBlock(layers, "stage1.block2", x, width, width, stride: 1);
        x = ResidualBlock(layers, "stage2.block1", x, width, 2 * width, stride: 2);
        x = ResidualBlock(layers, "stage3.block1", x, 2 * width, 4 * width, stride: 2);
        x = layers.Flatten(layers.Graph.AddNode("GlobalAveragePool", [x]));
        layers.Gemm("head", x, 4 * width, 10, output: "logits");
        layers.Graph.AddOutput("logits", ElementType.Fp32, Batch, 10);
        return layers.Graph.ToBytes();
    }

    /// <summary>Conv-BN-Relu-Conv-BN plus the shortcut, then Relu; a strided 1×1 Conv-BN projects the shortcut when the shape changes.</summary>
    private static string ResidualBlock(LayerWriter layers, string prefix, string x, int inChannels, int outChannels, int stride)
    {
        var y = layers.Conv($"{prefix}.conv1", x, inChannels, outChannels, kernel: 3, stride: stride, pad: 1, bias: false);
        y = layers.Relu(layers.BatchNorm($"{prefix}.bn1", y, outChannels));
        y = layers.Conv($"{prefix}.conv2", y, outChannels, outChannels, kernel: 3, pad: 1, bias: false);
        y = layers.BatchNorm($"{prefix}.bn2", y, outChannels);
        var shortcut = stride == 1 && inChannels == outChannels
            ? x
            : layers.BatchNorm($"{prefix}.proj.bn", layers.Conv($"{prefix}.proj.conv", x, inChannels, outChannels, kernel: 1, stride: stride, bias: false), outChannels);
        return layers.Relu(layers.Graph.AddNode("Add", [y, shortcut]));
    }
}
