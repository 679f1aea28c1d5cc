namespace OrleansServe.ApiHost.Apis;

/// <summary>The statistics extension, in Triton's format.</summary>
public static class StatisticsApi
{
    /// <summary>Maps GET /v2/models/stats and /v2/models/{model}[/versions/{version}]/stats.</summary>
    public static IEndpointRouteBuilder MapStatisticsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").RequireAccess(ApiAccess.Inference).ProducesErrors();
        group.MapGet("/v2/models/stats", AllAsync);
        group.MapGet("/v2/models/{model}/stats", (string model, IGrainFactory grains) => OneAsync(model, null, grains));
        group.MapGet("/v2/models/{model}/versions/{version}/stats", OneAsync);
        return routes;
    }

    private static async Task<Ok<StatisticsResponse>> AllAsync(IGrainFactory grains)
    {
        var index = await grains.GetGrain<IRepositoryGrain>(GrainKeys.Repository).IndexAsync();
        var stats = await Task.WhenAll(index.Where(s => s.State == ModelState.Ready).Select(s => grains.GetGrain<IModelGrain>(s.Name).GetStatisticsAsync()));
        return TypedResults.Ok(new StatisticsResponse([.. stats.Select(ToResponse)]));
    }

    private static async Task<Ok<StatisticsResponse>> OneAsync(string model, string? version, IGrainFactory grains)
    {
        var stats = await ModelsApi.ModelGrain(grains, model, version).GetStatisticsAsync();
        if (version is not null && stats.Version != version)
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"model '{model}' has no statistics for version '{version}'");
        }
        return TypedResults.Ok(new StatisticsResponse([ToResponse(stats)]));
    }

    private static ModelStatsResponse ToResponse(ModelStatistics s) => new(
        s.Name, s.Version, s.LastInferenceMs, s.InferenceCount, s.ExecutionCount,
        new InferenceStatsResponse(D(s.Success), D(s.Fail), D(s.Queue), D(s.ComputeInput), D(s.ComputeInfer), D(s.ComputeOutput)),
        [.. s.BatchStats.Select(b => new BatchStatsResponse(b.BatchSize, D(b.ComputeInput), D(b.ComputeInfer), D(b.ComputeOutput)))]);

    private static DurationResponse D(DurationStat d) => new(d.Count, d.Ns);
}
