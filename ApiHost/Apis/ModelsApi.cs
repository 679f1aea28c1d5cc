namespace OrleansServe.ApiHost.Apis;

/// <summary>Model metadata and readiness.</summary>
public static class ModelsApi
{
    /// <summary>Maps GET /v2/models/{model}[/versions/{version}] and its /ready.</summary>
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").RequireAccess(ApiAccess.Inference).ProducesErrors();
        group.MapGet("/v2/models/{model}", (string model, IGrainFactory grains) => MetadataAsync(model, null, grains));
        group.MapGet("/v2/models/{model}/versions/{version}", MetadataAsync);
        group.MapGet("/v2/models/{model}/ready", (string model, IGrainFactory grains) => ReadyAsync(model, null, grains));
        group.MapGet("/v2/models/{model}/versions/{version}/ready", ReadyAsync);
        return routes;
    }

    /// <summary>The grain of a model named in a route, after checking the name (and version) can exist at all.</summary>
    public static IModelGrain ModelGrain(IGrainFactory grains, string model, string? version)
    {
        if (!ModelNames.IsValid(model))
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"model '{model}' is not in the repository (model names use letters, digits, '_', '-', '.')");
        }
        if (version is not null && !ModelNames.IsValidVersion(version))
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"model '{model}' has no version '{version}' (versions are positive integers)");
        }
        return grains.GetGrain<IModelGrain>(model);
    }

    private static async Task<Ok<ModelMetadataResponse>> MetadataAsync(string model, string? version, IGrainFactory grains)
    {
        var metadata = await ModelGrain(grains, model, version).GetMetadataAsync();
        if (version is not null && !metadata.Versions.Contains(version))
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"model '{model}' has no version '{version}'");
        }
        var config = metadata.Config;
        return TypedResults.Ok(new ModelMetadataResponse(
            metadata.Name, metadata.Versions, metadata.Platform,
            [.. metadata.Inputs.Select(ToResponse)], [.. metadata.Outputs.Select(ToResponse)],
            new ModelConfigResponse(config.SloMs, config.MaxBatchSize, config.Priority, config.MaxQueueDelayMs, config.MaxQueueSize)));
    }

    private static async Task<Results<Ok<ReadyResponse>, JsonHttpResult<ErrorBody>>> ReadyAsync(string model, string? version, IGrainFactory grains)
    {
        var status = await ModelGrain(grains, model, version).GetStatusAsync();
        if (version is not null && status.Version != version)
        {
            throw new ApiException(StatusCodes.Status404NotFound, $"model '{model}' serves version {status.Version}, not '{version}'");
        }
        return status.State == ModelState.Ready
            ? TypedResults.Ok(new ReadyResponse(true, model))
            : ApiErrors.Error(StatusCodes.Status503ServiceUnavailable, $"model '{model}' is not ready: {status.State}{(status.Reason is null ? "" : $" ({status.Reason})")}");
    }

    private static TensorMetadataResponse ToResponse(TensorMetadata t) => new(t.Name, t.ElementType.ToKServeName(), t.Shape);
}
