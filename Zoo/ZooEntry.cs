using System.Text.Json;
using OrleansServe.Onnx;

namespace OrleansServe.Zoo;

/// <summary>
/// What a generated model is, read from its architecture without drawing a single weight.
/// </summary>
/// <param name="Signature">Inputs and outputs; the dynamic batch dimension reads as -1.</param>
/// <param name="Parameters">Trainable elements as frameworks count them (weights, biases, normalization scales and shifts, embeddings).</param>
/// <param name="InitializerElements">
/// Every floating-point initializer element in the file: the parameters plus batch-normalization running statistics
/// and stored constants. This is what <see cref="OnnxModelReader.CountParameters"/> reads from the built bytes.
/// </param>
/// <param name="ActivationElements">Elements of every node output in one forward pass at batch size one.</param>
/// <param name="Operators">The distinct ONNX operator types the graph uses, in order of first use.</param>
public sealed record ZooModelDescription(
    string Name, ModelSignature Signature, long Parameters, long InitializerElements, long ActivationElements, IReadOnlyList<string> Operators);

/// <summary>One generated model: its architecture, the seed of its weights and its serving configuration.</summary>
internal sealed record ZooEntry(string Name, ulong Seed, SampleModelConfig Config, Action<LayerWriter> Architecture)
{
    private static readonly JsonSerializerOptions ConfigJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>Builds the graph with its weights; the same entry always gives the same bytes.</summary>
    public OnnxGraphBuilder BuildGraph()
    {
        var layers = new LayerWriter(new OnnxGraphBuilder(Name), Seed);
        Architecture(layers);
        return layers.Graph;
    }

    /// <summary>Walks the architecture with a counting writer: shapes and sizes, no weights.</summary>
    public ZooModelDescription Describe()
    {
        var layers = LayerWriter.ForCounting(Name);
        Architecture(layers);
        return new ZooModelDescription(
            Name,
            new ModelSignature(layers.Inputs, layers.Outputs),
            layers.Parameters,
            layers.Parameters + layers.Statistics + layers.Constants,
            layers.ActivationElements,
            layers.Operators);
    }

    /// <summary>
    /// Writes a model repository: &lt;directory&gt;/&lt;model&gt;/config.json and &lt;directory&gt;/&lt;model&gt;/1/model.onnx.
    /// A model whose folder already exists is left as it is. Returns the models written.
    /// </summary>
    public static IReadOnlyList<string> WriteRepository(string directory, IReadOnlyList<ZooEntry> entries)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var entry in entries)
        {
            var modelDirectory = Path.Combine(directory, entry.Name);
            if (Directory.Exists(modelDirectory))
            {
                continue;
            }
            try
            {
                Directory.CreateDirectory(Path.Combine(modelDirectory, "1"));
                using (var file = File.Create(Path.Combine(modelDirectory, "1", "model.onnx")))
                {
                    entry.BuildGraph().WriteTo(file);
                }
                File.WriteAllText(Path.Combine(modelDirectory, "config.json"), JsonSerializer.Serialize(entry.Config, ConfigJson));
            }
            catch
            {
                // A half-written folder would be kept as "already there" by the next run, so remove it.
                Directory.Delete(modelDirectory, recursive: true);
                throw;
            }
            written.Add(entry.Name);
        }
        return written;
    }
}
