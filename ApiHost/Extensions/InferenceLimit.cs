using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace OrleansServe.ApiHost.Extensions;

/// <summary>
/// The front end's bound on concurrent inference (<see cref="ApiOptions.MaxConcurrentInferences"/>): one concurrency
/// limiter for the whole process with no queue, so a request over the bound is answered 503 before its body is read.
/// A queue here would only add waiting in front of the models' own queues, which admission already judges.
/// </summary>
public static class InferenceLimit
{
    /// <summary>The rate-limiting policy inference endpoints require.</summary>
    public const string Policy = "inference";

    /// <summary>Seconds a refused client is asked to wait before retrying.</summary>
    public const int RetryAfterSeconds = 1;

    /// <summary>Registers the limiter; the limit is read from <see cref="ApiOptions"/> when the first request comes.</summary>
    public static IServiceCollection AddInferenceLimit(this IServiceCollection services) =>
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status503ServiceUnavailable;
            limiter.OnRejected = (rejected, _) =>
            {
                var http = rejected.HttpContext;
                var limit = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.MaxConcurrentInferences;
                http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(ApiErrors.Error(StatusCodes.Status503ServiceUnavailable,
                    $"the server is serving its limit of {limit} concurrent inference requests (Api:MaxConcurrentInferences); retry later").ExecuteAsync(http));
            };
            limiter.AddPolicy(Policy, http =>
            {
                var limit = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.MaxConcurrentInferences;
                // One partition key: the bound is the process's, whoever sends.
                return limit > 0
                    ? RateLimitPartition.GetConcurrencyLimiter(Policy, _ => new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 })
                    : RateLimitPartition.GetNoLimiter(Policy);
            });
        });
}
