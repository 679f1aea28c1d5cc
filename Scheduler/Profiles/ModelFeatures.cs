using System.Globalization;

namespace OrleansServe.Scheduler.Profiles;

/// <summary>
/// What the engine's graph analysis says about one model (bench/profiles/zoo-features.csv): the inputs of the
/// roofline estimate and of the interference features.
/// </summary>
/// <param name="FlopsPerItem">FLOPs of one item (a multiply-add counts as two).</param>
/// <param name="WeightBytes">Bytes of the weights (what a swap-in moves).</param>
/// <param name="ActivationBytesPerItem">Activation bytes written per item, summed over layers.</param>
/// <param name="WorkspaceBytesBatch1">The engine's planned activation workspace at batch 1.</param>
/// <param name="Layers">Kernels launched per batch after fusion; 0 when the file did not say (no launch overhead is counted).</param>
public sealed record ModelFeatures(
    string Name,
    double FlopsPerItem,
    long WeightBytes,
    long ActivationBytesPerItem,
    long WorkspaceBytesBatch1,
    long Parameters,
    int Layers)
{
    private static readonly string[] Required =
        ["model", "flops_per_item", "weight_bytes", "activation_bytes_per_item", "workspace_bytes_batch1", "parameters"];

    /// <summary>Reads zoo-features.csv (the <c>layers</c> column is optional; others are refused).</summary>
    /// <exception cref="ProfileFormatException">Invalid lines, each listed with its line number.</exception>
    public static IReadOnlyList<ModelFeatures> FromCsv(string text)
    {
        var lines = text.Split('\n');
        var header = lines[0].TrimEnd('\r').Split(',').Select(c => c.Trim().ToLowerInvariant()).ToArray();
        var errors = new List<ProfileLineError>();
        errors.AddRange(Required.Where(c => !header.Contains(c)).Select(c => new ProfileLineError(1, $"missing column '{c}'")));
        errors.AddRange(header.Where(c => !Required.Contains(c) && c != "layers")
            .Select(c => new ProfileLineError(1, $"unknown column '{c}'")));
        if (errors.Count > 0)
        {
            throw new ProfileFormatException(errors);
        }
        var layersColumn = Array.IndexOf(header, "layers");
        var models = new List<ModelFeatures>();
        var names = new Dictionary<string, int>();
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var cells = line.Split(',').Select(c => c.Trim()).ToArray();
            if (cells.Length != header.Length)
            {
                errors.Add(new(i + 1, $"{cells.Length} fields, the header has {header.Length}"));
                continue;
            }
            var problems = new List<string>();
            double Number(string column)
            {
                var cell = cells[Array.IndexOf(header, column)];
                if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) && value >= 0)
                {
                    return value;
                }
                problems.Add($"{column} '{cell}' is not a non-negative number");
                return 0;
            }
            var name = cells[Array.IndexOf(header, "model")];
            var features = new ModelFeatures(
                name,
                Number("flops_per_item"),
                (long)Number("weight_bytes"),
                (long)Number("activation_bytes_per_item"),
                (long)Number("workspace_bytes_batch1"),
                (long)Number("parameters"),
                layersColumn >= 0 ? (int)Number("layers") : 0);
            if (name.Length == 0)
            {
                problems.Add("model name is empty");
            }
            else if (names.TryGetValue(name, out var first))
            {
                problems.Add($"model '{name}' already on line {first}");
            }
            if (problems.Count == 0)
            {
                names[name] = i + 1;
                models.Add(features);
            }
            errors.AddRange(problems.Select(p => new ProfileLineError(i + 1, p)));
        }
        return errors.Count > 0 ? throw new ProfileFormatException(errors) : models;
    }

    /// <summary>Reads a features file from disk.</summary>
    public static IReadOnlyList<ModelFeatures> Load(string path) => FromCsv(File.ReadAllText(path));

    /// <summary>
    /// The scheduler's view of the model: memory is the weights plus the batch-1 workspace scaled to the largest batch
    /// (the engine's plan grows linearly with batch), so a resident copy can always run its largest batch.
    /// </summary>
    public ModelSpec ToModelSpec(double sloMs, int maxBatch = 32) =>
        new(Name, sloMs, WeightBytes + WorkspaceBytesBatch1 * maxBatch, WeightBytes);
}
