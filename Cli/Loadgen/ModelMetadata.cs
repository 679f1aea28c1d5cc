using System.Text.Json;
using OrleansServe.KServe;

namespace OrleansServe.Cli.Loadgen;

/// <summary>Reads GET /v2/models/{model} answers (KServe's <see cref="ModelMetadataResponse"/>) for loadgen.</summary>
public static class ModelMetadata
{
    /// <summary>Parses a metadata answer.</summary>
    /// <exception cref="LoadgenException">The text is not metadata with named inputs and outputs.</exception>
    public static ModelMetadataResponse Parse(string json)
    {
        ModelMetadataResponse? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<ModelMetadataResponse>(json, KServeJson.Options);
        }
        catch (JsonException e)
        {
            throw new LoadgenException($"model metadata is not valid JSON: {e.Message}", e);
        }
        if (metadata?.Inputs is not { Length: > 0 } inputs)
        {
            throw new LoadgenException("model metadata lists no inputs");
        }
        foreach (var tensor in inputs.Concat(metadata.Outputs ?? []))
        {
            if (string.IsNullOrEmpty(tensor?.Name) || tensor.Datatype is null || tensor.Shape is null)
            {
                throw new LoadgenException("model metadata has a tensor without name, datatype or shape");
            }
        }
        return metadata with { Outputs = metadata.Outputs ?? [], Versions = metadata.Versions ?? [] };
    }
}

/// <summary>An input with every dimension fixed: the tensor loadgen sends.</summary>
public sealed record InputTensor(string Name, long[] Shape)
{
    /// <summary>Number of FP32 elements.</summary>
    public int ElementCount => checked((int)Shape.Aggregate(1L, (product, dimension) => checked(product * dimension)));
}

/// <summary>Turns metadata shapes into the concrete shapes of one batch.</summary>
public static class InputShapes
{
    /// <summary>
    /// The first -1 of each input becomes <paramref name="batch"/>; any other dynamic or invalid dimension,
    /// and any datatype but FP32, is refused.
    /// </summary>
    /// <exception cref="LoadgenException">An input cannot be generated.</exception>
    public static IReadOnlyList<InputTensor> Resolve(IEnumerable<TensorMetadataResponse> inputs, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var resolved = new List<InputTensor>();
        foreach (var input in inputs)
        {
            if (!string.Equals(input.Datatype, "FP32", StringComparison.Ordinal))
            {
                throw new LoadgenException($"input '{input.Name}' is {input.Datatype}; loadgen generates FP32 inputs only");
            }
            var shape = new long[input.Shape.Length];
            var batchSeen = false;
            for (var i = 0; i < shape.Length; i++)
            {
                var dimension = input.Shape[i];
                if (dimension == -1 && !batchSeen)
                {
                    batchSeen = true;
                    shape[i] = batch;
                }
                else if (dimension == -1)
                {
                    throw new LoadgenException(
                        $"input '{input.Name}' has shape {Format(input.Shape)}: only the first dynamic dimension (the batch) can be chosen; dimension {i} must be fixed");
                }
                else if (dimension < 1)
                {
                    throw new LoadgenException($"input '{input.Name}' has shape {Format(input.Shape)}: dimension {i} is {dimension}");
                }
                else
                {
                    shape[i] = dimension;
                }
            }
            if (!batchSeen && batch != 1)
            {
                throw new LoadgenException($"input '{input.Name}' has fixed shape {Format(input.Shape)} with no batch dimension; use --batch 1");
            }
            var tensor = new InputTensor(input.Name, shape);
            try
            {
                _ = tensor.ElementCount;
            }
            catch (OverflowException e)
            {
                throw new LoadgenException($"input '{input.Name}' of shape {Format(shape)} is too large to generate", e);
            }
            resolved.Add(tensor);
        }
        return resolved;
    }

    /// <summary>"[-1,784]".</summary>
    public static string Format(IEnumerable<long> shape) => $"[{string.Join(',', shape)}]";
}
