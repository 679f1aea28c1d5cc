namespace OrleansServe.ApiHost.Apis;

/// <summary>The body of every error answer: <c>{"error": "..."}</c>.</summary>
public sealed record ErrorBody(string Error);

/// <summary>A refusal raised by an endpoint with the status code it should get.</summary>
public sealed class ApiException(int statusCode, string message) : Exception(message)
{
    /// <summary>The HTTP status to answer with.</summary>
    public int StatusCode { get; } = statusCode;
}

/// <summary>Maps refusals to HTTP answers; nothing a caller sends may produce a 500.</summary>
public static class ApiErrors
{
    /// <summary>An error answer.</summary>
    public static JsonHttpResult<ErrorBody> Error(int status, string message) => TypedResults.Json(new ErrorBody(message), statusCode: status);

    /// <summary>
    /// Declares the error answers every endpoint of the group may give (400, 401, 404, 413, 429 and 503, each a
    /// <see cref="ErrorBody"/>), so the served OpenAPI document lists them.
    /// </summary>
    public static RouteGroupBuilder ProducesErrors(this RouteGroupBuilder group)
    {
        foreach (var status in new[]
        {
            StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status404NotFound,
            StatusCodes.Status413PayloadTooLarge, StatusCodes.Status429TooManyRequests, StatusCodes.Status503ServiceUnavailable,
        })
        {
            group.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ErrorBody), ["application/json"]));
        }
        return group;
    }

    /// <summary>Answer for routes that do not exist.</summary>
    public static JsonHttpResult<ErrorBody> NoSuchEndpoint(HttpContext context) =>
        Error(StatusCodes.Status404NotFound, $"no endpoint {context.Request.Method} {context.Request.Path}");

    /// <summary>The status code of a refusal, or null when the exception is a fault of the server.</summary>
    public static int? StatusOf(Exception e) => e switch
    {
        ApiException api => api.StatusCode,
        KServeProtocolException => StatusCodes.Status400BadRequest,
        InferenceException { Kind: InferenceErrorKind.BadRequest or InferenceErrorKind.ExecutionFailed } => StatusCodes.Status400BadRequest,
        InferenceException { Kind: InferenceErrorKind.NotFound } => StatusCodes.Status404NotFound,
        InferenceException => StatusCodes.Status503ServiceUnavailable,
        BadHttpRequestException bad => bad.StatusCode,
        OrleansException or TimeoutException => StatusCodes.Status503ServiceUnavailable,
        OperationCanceledException => StatusCodes.Status503ServiceUnavailable,
        _ => null,
    };

    /// <summary>Catches every exception of the pipeline and answers with <see cref="ErrorBody"/>.</summary>
    public static WebApplication UseOrleansServeErrors(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (Exception e) when (!context.Response.HasStarted)
            {
                var status = StatusOf(e);
                var message = status is null ? "internal server error" : e.Message;
                if (status is null)
                {
                    app.Logger.LogError(e, "Unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
                }
                else if (e is OrleansException or TimeoutException)
                {
                    // Orleans puts inner stack traces in its messages; the caller needs the first line.
                    var firstLine = e.Message.Split('\n', 2)[0].TrimEnd();
                    message = e is OrleansMessageRejectionException
                        ? $"the silo serving this request is unreachable (failed or leaving; the cluster moves its work to live silos), send it again: {firstLine}"
                        : $"the cluster is unavailable: {firstLine}";
                }
                context.Response.Clear();
                if (e is OrleansException or TimeoutException)
                {
                    context.Response.Headers.RetryAfter = "1";
                }
                await Error(status ?? StatusCodes.Status500InternalServerError, message).ExecuteAsync(context);
            }
        });
        return app;
    }
}
