namespace OrleansServe.Grains;

/// <summary>A count and the total nanoseconds spent, as in Triton's statistics extension.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.DurationStat")]
public sealed record DurationStat([property: Id(0)] long Count, [property: Id(1)] long Ns);

/// <summary>Per batch size execution figures.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.BatchStat")]
public sealed record BatchStat(
    [property: Id(0)] int BatchSize,
    [property: Id(1)] DurationStat ComputeInput,
    [property: Id(2)] DurationStat ComputeInfer,
    [property: Id(3)] DurationStat ComputeOutput);

/// <summary>Statistics of one model, the fields of the KServe/Triton statistics extension.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.ModelStatistics")]
public sealed record ModelStatistics(
    [property: Id(0)] string Name,
    [property: Id(1)] string Version,
    [property: Id(2)] long LastInferenceMs,
    [property: Id(3)] long InferenceCount,
    [property: Id(4)] long ExecutionCount,
    [property: Id(5)] DurationStat Success,
    [property: Id(6)] DurationStat Fail,
    [property: Id(7)] DurationStat Queue,
    [property: Id(8)] DurationStat ComputeInput,
    [property: Id(9)] DurationStat ComputeInfer,
    [property: Id(10)] DurationStat ComputeOutput,
    [property: Id(11)] BatchStat[] BatchStats);
