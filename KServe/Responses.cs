using System.Text.Json;

namespace OrleansServe.KServe;

// The REST answers of the KServe v2 protocol and Triton's statistics extension, as the server writes them and clients
// read them (snake_case, see KServeJson.Options).

/// <summary>GET /v2.</summary>
public sealed record ServerMetadataResponse(string Name, string Version, string[] Extensions);

/// <summary>One input or output in model metadata.</summary>
public sealed record TensorMetadataResponse(string Name, string Datatype, long[] Shape);

/// <summary>Serving configuration reported with model metadata (an OrleansServe addition).</summary>
public sealed record ModelConfigResponse(double SloMs, int MaxBatchSize, int Priority, double MaxQueueDelayMs, int MaxQueueSize);

/// <summary>GET /v2/models/{model}.</summary>
public sealed record ModelMetadataResponse(
    string Name, string[] Versions, string Platform, TensorMetadataResponse[] Inputs, TensorMetadataResponse[] Outputs, ModelConfigResponse Config);

/// <summary>Readiness answers.</summary>
public sealed record ReadyResponse(bool Ready, string? Name = null);

/// <summary>Liveness answer.</summary>
public sealed record LiveResponse(bool Live);

/// <summary>A row of the repository index.</summary>
public sealed record RepositoryIndexEntry(string Name, string? Version, string State, string? Reason);

/// <summary>A count and total nanoseconds.</summary>
public sealed record DurationResponse(long Count, long Ns);

/// <summary>Triton's inference_stats block.</summary>
public sealed record InferenceStatsResponse(
    DurationResponse Success, DurationResponse Fail, DurationResponse Queue,
    DurationResponse ComputeInput, DurationResponse ComputeInfer, DurationResponse ComputeOutput);

/// <summary>Triton's batch_stats rows.</summary>
public sealed record BatchStatsResponse(int BatchSize, DurationResponse ComputeInput, DurationResponse ComputeInfer, DurationResponse ComputeOutput);

/// <summary>One model's statistics.</summary>
public sealed record ModelStatsResponse(
    string Name, string Version, long LastInference, long InferenceCount, long ExecutionCount,
    InferenceStatsResponse InferenceStats, BatchStatsResponse[] BatchStats);

/// <summary>GET /v2/models[/{model}]/stats.</summary>
public sealed record StatisticsResponse(ModelStatsResponse[] ModelStats);

/// <summary>How the protocol's JSON is named: snake_case, as KServe v2 and Triton spell their fields.</summary>
public static class KServeJson
{
    /// <summary>Options for reading and writing the protocol's JSON answers.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
