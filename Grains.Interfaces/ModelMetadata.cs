using OrleansServe.Tensors;

namespace OrleansServe.Grains;

/// <summary>Name, element type (KServe datatype) and shape of one model input or output; -1 marks a dynamic dimension.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.TensorMetadata")]
public sealed record TensorMetadata(
    [property: Id(0)] string Name,
    [property: Id(1)] ElementType ElementType,
    [property: Id(2)] long[] Shape);

/// <summary>The serving configuration of a model (config.json with defaults applied).</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.ModelServingConfig")]
public sealed record ModelServingConfig(
    [property: Id(0)] double SloMs,
    [property: Id(1)] int MaxBatchSize,
    [property: Id(2)] int Priority,
    [property: Id(3)] double MaxQueueDelayMs,
    [property: Id(4)] int MaxQueueSize);

/// <summary>Model metadata as the KServe v2 model metadata endpoint reports it; Versions lists the versions served.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.ModelMetadata")]
public sealed record ModelMetadata(
    [property: Id(0)] string Name,
    [property: Id(1)] string[] Versions,
    [property: Id(2)] string Platform,
    [property: Id(3)] TensorMetadata[] Inputs,
    [property: Id(4)] TensorMetadata[] Outputs,
    [property: Id(5)] ModelServingConfig Config);

/// <summary>Life-cycle state of a model in the repository.</summary>
[GenerateSerializer, Alias("orleansserve.ModelState")]
public enum ModelState
{
    /// <summary>Present in the repository, not loaded.</summary>
    Unloaded,
    /// <summary>Loaded: weights in host memory, accepting requests.</summary>
    Ready,
    /// <summary>A load was tried and failed; the reason says why.</summary>
    Unavailable,
}

/// <summary>One row of the repository index.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.ModelStatus")]
public sealed record ModelStatus(
    [property: Id(0)] string Name,
    [property: Id(1)] string? Version,
    [property: Id(2)] ModelState State,
    [property: Id(3)] string? Reason);

/// <summary>
/// What one item of a model costs by the engine's graph analysis at batch 1, the scheduler's input for interference
/// features (the columns of bench/profiles/zoo-features.csv).
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansserve.ModelCostFeatures")]
public sealed record ModelCostFeatures(
    [property: Id(0)] long FlopsPerItem,
    [property: Id(1)] long WeightBytes,
    [property: Id(2)] long ActivationBytesPerItem,
    [property: Id(3)] long WorkspaceBytesBatch1,
    [property: Id(4)] int Layers);
