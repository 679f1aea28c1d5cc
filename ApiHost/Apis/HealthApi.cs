namespace OrleansServe.ApiHost.Apis;

/// <summary>Server liveness, readiness and metadata.</summary>
public static class HealthApi
{
    /// <summary>The extensions of the protocol this server implements.</summary>
    public static readonly string[] Extensions = ["model_repository", "statistics", "binary_tensor_data"];

    /// <summary>Maps GET /v2, /v2/health/live and /v2/health/ready.</summary>
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v2", () => TypedResults.Ok(new ServerMetadataResponse("orleansserve", ServerVersion, Extensions)))
            .RequireAccess(ApiAccess.Inference);
        routes.MapGet("/v2/health/live", () => TypedResults.Ok(new LiveResponse(true))).RequireAccess(ApiAccess.Open);
        routes.MapGet("/v2/health/ready", Ready).RequireAccess(ApiAccess.Open);
        return routes;
    }

    /// <summary>The server's version string.</summary>
    public static string ServerVersion { get; } = typeof(HealthApi).Assembly.GetName().Version?.ToString(3) ?? "0.1.0";

    /// <summary>200 when the server takes requests, 503 with the reason otherwise.</summary>
    public static Results<Ok<ReadyResponse>, JsonHttpResult<ErrorBody>> Ready(ServerReadiness readiness) =>
        readiness.IsReady ? TypedResults.Ok(new ReadyResponse(true)) : ApiErrors.Error(StatusCodes.Status503ServiceUnavailable, "the server is not ready");
}
