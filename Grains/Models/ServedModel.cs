using OrleansServe.Grains.Repository;
using OrleansServe.Onnx;
using OrleansServe.Tensors;

namespace OrleansServe.Grains.Models;

/// <summary>A request checked against the model: inputs in graph order, its batch size and what it may be stacked with.</summary>
internal sealed record PreparedRequest(InferenceRequest Request, Tensor[] Inputs, int BatchSize, string StackKey, string[] Outputs);

/// <summary>A loaded model: its files' version, configuration and signature (with config dims applied), and its device.</summary>
internal sealed class ServedModel
{
    public ServedModel(string name, ModelFiles files, ModelSignature signature, IGpuGrain device, string deviceKey)
    {
        Name = name;
        Version = files.Version;
        Config = files.Config;
        Device = device;
        DeviceKey = deviceKey;
        Inputs = [.. signature.Inputs.Select(i => ApplyOverride(i, files.Config))];
        Outputs = [.. signature.Outputs.Select(o => ApplyOverride(o, files.Config))];
        Batchable = Inputs.All(i => i.HasDynamicBatch) && Outputs.All(o => o.HasDynamicBatch);
        MaxBatchSize = Batchable ? files.Config.MaxBatchSize : 1;
        OutputNames = [.. Outputs.Select(o => o.Name)];
        foreach (var pinned in files.Config.DimOverrides.Keys)
        {
            if (!Inputs.Any(i => i.Name == pinned) && !Outputs.Any(o => o.Name == pinned))
            {
                throw new InvalidModelException($"config.json pins dims of '{pinned}', which is neither an input nor an output of the model");
            }
        }
    }

    public string Name { get; }
    public string Version { get; }
    public ModelConfig Config { get; }
    public IGpuGrain Device { get; }
    public string DeviceKey { get; }
    public TensorSignature[] Inputs { get; }
    public TensorSignature[] Outputs { get; }
    public string[] OutputNames { get; }
    public bool Batchable { get; }
    public int MaxBatchSize { get; }

    public ModelMetadata ToMetadata(string[] versions) => new(
        Name, versions, "onnxruntime_onnx",
        [.. Inputs.Select(ToMetadata)], [.. Outputs.Select(ToMetadata)],
        new ModelServingConfig(Config.SloMs, MaxBatchSize, Config.Priority, Config.MaxQueueDelayMs, Config.MaxQueueSize));

    /// <summary>Checks a request against the model; throws a bad-request <see cref="InferenceException"/> saying what is wrong.</summary>
    public PreparedRequest Prepare(InferenceRequest request)
    {
        if (request.Inputs is null || request.Inputs.Length == 0)
        {
            throw BadRequest($"model '{Name}' expects inputs {Names(Inputs)}; the request has none");
        }
        var ordered = new Tensor[Inputs.Length];
        foreach (var tensor in request.Inputs)
        {
            var index = Array.FindIndex(Inputs, i => i.Name == tensor?.Name);
            if (index < 0)
            {
                throw BadRequest($"model '{Name}' has no input '{tensor?.Name}'; its inputs are {Names(Inputs)}");
            }
            if (ordered[index] is not null)
            {
                throw BadRequest($"input '{tensor!.Name}' is given twice");
            }
            ordered[index] = tensor!;
        }
        var missing = Inputs.Where((_, i) => ordered[i] is null).Select(i => i.Name).ToList();
        if (missing.Count > 0)
        {
            throw BadRequest($"model '{Name}' needs inputs {string.Join(", ", missing.Select(m => $"'{m}'"))} that the request lacks");
        }
        var batch = -1L;
        var key = new System.Text.StringBuilder();
        for (var i = 0; i < Inputs.Length; i++)
        {
            var expected = Inputs[i];
            var tensor = ordered[i];
            if (tensor.ElementType != expected.ElementType)
            {
                throw BadRequest($"input '{tensor.Name}' must be {expected.ElementType.ToKServeName()}, got {tensor.ElementType.ToKServeName()}");
            }
            var shape = tensor.Shape ?? [];
            if (shape.Length != expected.Shape.Length)
            {
                throw BadRequest($"input '{tensor.Name}' must have shape {ShapeText(expected.Shape)}, got {ShapeText(shape)}");
            }
            for (var d = 0; d < shape.Length; d++)
            {
                var fixedDim = expected.Shape[d];
                if (shape[d] < 1 || (fixedDim >= 0 && shape[d] != fixedDim))
                {
                    throw BadRequest($"input '{tensor.Name}' must have shape {ShapeText(expected.Shape)}, got {ShapeText(shape)}");
                }
            }
            if (Batchable)
            {
                if (batch >= 0 && shape[0] != batch)
                {
                    throw BadRequest($"inputs disagree on the batch size: '{tensor.Name}' has {shape[0]}, others {batch}");
                }
                batch = shape[0];
                key.Append(ShapeText(shape.AsSpan(1).ToArray())).Append(';');
            }
            var bytes = checked(tensor.ElementCount * expected.ElementType.ByteSize());
            if (tensor.Data is null || tensor.Data.LongLength != bytes)
            {
                throw BadRequest($"input '{tensor.Name}' of shape {ShapeText(shape)} needs {bytes} bytes of {expected.ElementType.ToKServeName()}, got {tensor.Data?.LongLength ?? 0}");
            }
        }
        if (Batchable && batch > MaxBatchSize)
        {
            throw BadRequest($"batch size {batch} exceeds the model's max_batch_size {MaxBatchSize}");
        }
        return new PreparedRequest(request, ordered, Batchable ? (int)batch : 1, key.ToString(), RequestedOutputs(request));
    }

    private string[] RequestedOutputs(InferenceRequest request)
    {
        if (request.RequestedOutputs is null || request.RequestedOutputs.Length == 0)
        {
            return OutputNames;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in request.RequestedOutputs)
        {
            if (!OutputNames.Contains(name))
            {
                throw BadRequest($"model '{Name}' has no output '{name}'; its outputs are {Names(Outputs)}");
            }
            if (!seen.Add(name))
            {
                throw BadRequest($"output '{name}' is requested twice");
            }
        }
        return request.RequestedOutputs;
    }

    private static TensorSignature ApplyOverride(TensorSignature signature, ModelConfig config)
    {
        if (!config.DimOverrides.TryGetValue(signature.Name, out var dims))
        {
            return signature;
        }
        var offset = signature.HasDynamicBatch ? 1 : 0;
        if (dims.Length != signature.Shape.Length - offset)
        {
            throw new InvalidModelException($"config.json gives '{signature.Name}' {dims.Length} dims; the model has {signature.Shape.Length - offset} besides the batch");
        }
        var shape = (long[])signature.Shape.Clone();
        for (var d = 0; d < dims.Length; d++)
        {
            if (shape[d + offset] >= 0 && shape[d + offset] != dims[d])
            {
                throw new InvalidModelException($"config.json dims of '{signature.Name}' contradict the model's shape {ShapeText(signature.Shape)}");
            }
            shape[d + offset] = dims[d];
        }
        return signature with { Shape = shape };
    }

    private static TensorMetadata ToMetadata(TensorSignature s) => new(s.Name, s.ElementType, s.Shape);

    private static string Names(IEnumerable<TensorSignature> tensors) => string.Join(", ", tensors.Select(t => $"'{t.Name}'"));

    internal static string ShapeText(long[] shape) => $"[{string.Join(",", shape)}]";

    private static InferenceException BadRequest(string message) => new(InferenceErrorKind.BadRequest, message);
}
