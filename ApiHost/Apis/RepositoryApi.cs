using OrleansServe.ApiHost.Extensions;
using OrleansServe.Grains;
using OrleansServe.Grains.Models;

namespace OrleansServe.ApiHost.Apis;

/// <summary>The model repository extension: index, load, unload.</summary>
public static class RepositoryApi
{
    /// <summary>Maps POST /v2/repository/index and /v2/repository/models/{model}/load|unload.</summary>
    public static IEndpointRouteBuilder MapRepositoryApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").RequireAccess(ApiAccess.Management);
        group.MapPost("/v2/repository/index", IndexAsync);
        group.MapPost("/v2/repository/models/{model}/load", LoadAsync);
        group.MapPost("/v2/repository/models/{model}/unload", UnloadAsync);
        return routes;
    }

    private static async Task<IResult> IndexAsync(IGrainFactory grains)
    {
        var index = await grains.GetGrain<IRepositoryGrain>(RepositoryGrain.Key).IndexAsync();
        return TypedResults.Ok(index.Select(ToEntry).ToArray());
    }

    private static async Task<IResult> LoadAsync(string model, IGrainFactory grains)
    {
        ModelsApi.ModelGrain(grains, model, null);
        var status = await grains.GetGrain<IRepositoryGrain>(RepositoryGrain.Key).LoadAsync(model);
        return status.State == ModelState.Ready
            ? TypedResults.Ok(ToEntry(status))
            : ApiErrors.Error(StatusCodes.Status400BadRequest, $"model '{model}' failed to load: {status.Reason}");
    }

    private static async Task<IResult> UnloadAsync(string model, IGrainFactory grains)
    {
        ModelsApi.ModelGrain(grains, model, null);
        var status = await grains.GetGrain<IRepositoryGrain>(RepositoryGrain.Key).UnloadAsync(model);
        return TypedResults.Ok(ToEntry(status));
    }

    private static RepositoryIndexEntry ToEntry(ModelStatus s) => new(s.Name, s.Version, s.State.ToString().ToUpperInvariant(), s.Reason);
}
