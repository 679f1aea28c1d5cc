using System.Text.Json;

namespace OrleansServe.Grains.Repository;

/// <summary>
/// A model's serving configuration, read from <c>config.json</c>. Every field is optional; the defaults are
/// documented in README (Configuration). Shapes and datatypes come from the ONNX graph, not from here.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Latency objective of one request, end to end inside the server.</summary>
    public double SloMs { get; init; } = 100;

    /// <summary>Whether config.json sets slo_ms (admission control holds only such models to their SLO).</summary>
    public bool SloMsSet { get; init; }

    /// <summary>Largest batch the server forms; 1 disables batching. Models without a dynamic batch dimension always run at 1.</summary>
    public int MaxBatchSize { get; init; } = 8;

    /// <summary>Larger runs first when devices are contended (used by the scheduler).</summary>
    public int Priority { get; init; } = 1;

    /// <summary>How long a request may wait for a batch to fill while the device is idle; 0 dispatches at once.</summary>
    public double MaxQueueDelayMs { get; init; }

    /// <summary>Requests waiting beyond this are refused with "overloaded".</summary>
    public int MaxQueueSize { get; init; } = 1024;

    /// <summary>Optional pins of dynamic non-batch dimensions, by input or output name (dims exclude the batch dimension).</summary>
    public IReadOnlyDictionary<string, long[]> DimOverrides { get; init; } = new Dictionary<string, long[]>();

    /// <summary>Upper bound on <see cref="MaxBatchSize"/>, to keep a typo from asking for gigabyte batches.</summary>
    public const int BatchSizeLimit = 1024;

    private static readonly HashSet<string> KnownKeys =
        ["slo_ms", "max_batch_size", "priority", "max_queue_delay_ms", "max_queue_size", "inputs", "outputs"];

    /// <summary>Parses config.json; throws <see cref="ModelRepositoryException"/> naming the bad field.</summary>
    public static ModelConfig Parse(ReadOnlySpan<byte> json, string model)
    {
        try
        {
            using var doc = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 16, CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelRepositoryException($"model '{model}': config.json must hold a JSON object");
            }
            var config = new ModelConfig();
            var overrides = new Dictionary<string, long[]>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!KnownKeys.Contains(property.Name))
                {
                    throw new ModelRepositoryException($"model '{model}': unknown config.json field '{property.Name}' (known: {string.Join(", ", KnownKeys)})");
                }
                var value = property.Value;
                config = property.Name switch
                {
                    "slo_ms" => config with { SloMs = Positive(value, property.Name, model, double.MaxValue), SloMsSet = true },
                    "max_batch_size" => config with { MaxBatchSize = (int)Positive(value, property.Name, model, BatchSizeLimit, integer: true) },
                    "priority" => config with { Priority = Integer(value, property.Name, model) },
                    "max_queue_delay_ms" => config with { MaxQueueDelayMs = NonNegative(value, property.Name, model) },
                    "max_queue_size" => config with { MaxQueueSize = (int)Positive(value, property.Name, model, 1_000_000, integer: true) },
                    _ => ReadOverrides(config, value, property.Name, model, overrides),
                };
            }
            return config with { DimOverrides = overrides };
        }
        catch (JsonException e)
        {
            throw new ModelRepositoryException($"model '{model}': config.json is not valid JSON: {e.Message}");
        }
    }

    private static ModelConfig ReadOverrides(ModelConfig config, JsonElement value, string field, string model, Dictionary<string, long[]> overrides)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new ModelRepositoryException($"model '{model}': '{field}' must be an array of {{\"name\", \"dims\"}}");
        }
        foreach (var entry in value.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("dims", out var dims) || dims.ValueKind != JsonValueKind.Array)
            {
                throw new ModelRepositoryException($"model '{model}': each entry of '{field}' needs a string 'name' and an array 'dims'");
            }
            var parsed = new List<long>();
            foreach (var dim in dims.EnumerateArray())
            {
                if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d) || d < 1 || d > int.MaxValue)
                {
                    throw new ModelRepositoryException($"model '{model}': dims of '{name.GetString()}' must be positive integers");
                }
                parsed.Add(d);
            }
            overrides[name.GetString()!] = [.. parsed];
        }
        return config;
    }

    private static double Positive(JsonElement value, string field, string model, double max, bool integer = false)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var d) || d <= 0 || d > max || (integer && d != Math.Floor(d)))
        {
            throw new ModelRepositoryException($"model '{model}': '{field}' must be a positive {(integer ? "integer" : "number")} no larger than {max}");
        }
        return d;
    }

    private static double NonNegative(JsonElement value, string field, string model)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var d) || d < 0 || d > 60_000)
        {
            throw new ModelRepositoryException($"model '{model}': '{field}' must be a number of milliseconds between 0 and 60000");
        }
        return d;
    }

    private static int Integer(JsonElement value, string field, string model)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var i))
        {
            throw new ModelRepositoryException($"model '{model}': '{field}' must be an integer");
        }
        return i;
    }
}
