namespace OrleansServe.ApiHost.Apis;

/// <summary>The model repository extension: index, load, unload.</summary>
public static class RepositoryApi
{
    /// <summary>Maps POST /v2/repository/index and /v2/repository/models/{model}/load|unload.</summary>
    public static IEndpointRouteBuilder MapRepositoryApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").RequireAccess(ApiAccess.Management).ProducesErrors();
        group.MapPost("/v2/repository/index", IndexAsync);
        group.MapPost("/v2/repository/models/{model}/load", LoadAsync);
        group.MapPost("/v2/repository/models/{model}/unload", UnloadAsync);
        return routes;
    }

    private static async Task<Ok<RepositoryIndexEntry[]>> IndexAsync(IGrainFactory grains)
    {
        var index = await grains.GetGrain<IRepositoryGrain>(GrainKeys.Repository).IndexAsync();
        return TypedResults.Ok(index.Select(ToEntry).ToArray());
    }

    /// <summary>Largest load request body: a config override of config.json's limit, JSON-escaped, with room to spare.</summary>
    private const int MaxLoadBodyBytes = 4 * ModelNames.MaxConfigBytes;

    private static async Task<Results<Ok<RepositoryIndexEntry>, JsonHttpResult<ErrorBody>>> LoadAsync(string model, HttpRequest request, IGrainFactory grains)
    {
        ModelsApi.ModelGrain(grains, model, null);
        var config = await ReadConfigOverrideAsync(request);
        var repository = grains.GetGrain<IRepositoryGrain>(GrainKeys.Repository);
        var status = config is null ? await repository.LoadAsync(model) : await repository.LoadWithConfigAsync(model, config);
        return status.State == ModelState.Ready
            ? TypedResults.Ok(ToEntry(status))
            : ApiErrors.Error(StatusCodes.Status400BadRequest, $"model '{model}' failed to load: {status.Reason}");
    }

    /// <summary>
    /// The optional body of a load, as Triton has it: <c>{"parameters": {"config": "&lt;config.json as a string&gt;"}}</c>.
    /// No body, or no config parameter, loads with the repository's config.json.
    /// </summary>
    private static async Task<string?> ReadConfigOverrideAsync(HttpRequest request)
    {
        // Read whatever came (HTTP/2 and HTTP/3 bodies need no Content-Length): an empty body is a plain load.
        var bytes = await RequestBodies.ReadAsync(request, MaxLoadBodyBytes,
            () => new ApiException(StatusCodes.Status413PayloadTooLarge, $"a load request body is at most {MaxLoadBodyBytes} bytes"),
            request.HttpContext.RequestAborted);
        if (bytes.Length == 0)
        {
            return null;
        }
        System.Text.Json.Nodes.JsonNode? body;
        try
        {
            body = System.Text.Json.Nodes.JsonNode.Parse(bytes.Span, documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"the load request body is not JSON: {e.Message}");
        }
        if (body is not System.Text.Json.Nodes.JsonObject root)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "the load request body must be a JSON object");
        }
        if (root["parameters"] is not { } parameters)
        {
            return null;
        }
        if (parameters is not System.Text.Json.Nodes.JsonObject named)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "'parameters' of a load request must be an object");
        }
        if (named.Select(p => p.Key).FirstOrDefault(k => k != "config") is { } unknown)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"unknown load parameter '{unknown}' (known: config)");
        }
        if (!named.ContainsKey("config"))
        {
            return null;
        }
        return named["config"] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<string>(out var config)
            ? config
            : throw new ApiException(StatusCodes.Status400BadRequest, "the load parameter 'config' must be a string holding config.json");
    }

    private static async Task<Ok<RepositoryIndexEntry>> UnloadAsync(string model, IGrainFactory grains)
    {
        ModelsApi.ModelGrain(grains, model, null);
        var status = await grains.GetGrain<IRepositoryGrain>(GrainKeys.Repository).UnloadAsync(model);
        return TypedResults.Ok(ToEntry(status));
    }

    private static RepositoryIndexEntry ToEntry(ModelStatus s) => new(s.Name, s.Version, s.State.ToString().ToUpperInvariant(), s.Reason);
}
