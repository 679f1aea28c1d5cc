using Microsoft.Extensions.Options;

namespace OrleansServe.ApiHost.Apis;

/// <summary>POST .../infer: JSON tensors and the binary tensor data extension.</summary>
public static class InferenceApi
{
    /// <summary>The header that splits a binary-extension body into its JSON part and its tensor bytes.</summary>
    public const string HeaderLengthHeader = InferResponseWriter.InferenceHeaderContentLengthHeader;

    /// <summary>Maps POST /v2/models/{model}[/versions/{version}]/infer.</summary>
    public static IEndpointRouteBuilder MapInferenceApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").RequireAccess(ApiAccess.Inference).RequireRateLimiting(InferenceLimit.Policy).ProducesErrors();
        group.MapPost("/v2/models/{model}/infer", (string model, HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options) =>
            InferAsync(model, null, http, grains, options));
        group.MapPost("/v2/models/{model}/versions/{version}/infer", InferAsync);
        return routes;
    }

    private static async Task InferAsync(string model, string? version, HttpContext http, IGrainFactory grains, IOptions<ApiOptions> options)
    {
        var arrived = System.Diagnostics.Stopwatch.GetTimestamp();
        var grain = ModelsApi.ModelGrain(grains, model, version);
        var headerLength = ReadHeaderLength(http.Request);
        var limit = options.Value.MaxRequestBodyBytes;
        var body = await RequestBodies.ReadAsync(http.Request, limit, () => TooLarge(limit), http.RequestAborted);
        var parsed = InferRequestParser.Parse(body, headerLength);
        // Admission counts the time spent here reading and parsing against the model's SLO.
        var waited = System.Diagnostics.Stopwatch.GetElapsedTime(arrived).TotalMilliseconds;
        var request = parsed.Request with { Version = version, WaitedMs = waited };
        var response = await http.RequestServices.GetRequiredService<SiloLossRetry>().CallAsync(() => grain.InferAsync(request), http.RequestAborted);

        using var encoded = InferResponseWriter.Encode(response, parsed);
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = encoded.ContentType;
        http.Response.ContentLength = encoded.ContentLength;
        if (encoded.InferenceHeaderContentLength is int length)
        {
            http.Response.Headers[HeaderLengthHeader] = length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        await encoded.WriteToAsync(http.Response.Body, http.RequestAborted);
    }

    private static int? ReadHeaderLength(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(HeaderLengthHeader, out var values))
        {
            return null;
        }
        if (values.Count != 1 || !int.TryParse(values[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"{HeaderLengthHeader} must be one non-negative integer");
        }
        return length;
    }

    private static ApiException TooLarge(long limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"the request body exceeds the limit of {limit} bytes (Api:MaxRequestBodyBytes)");
}
