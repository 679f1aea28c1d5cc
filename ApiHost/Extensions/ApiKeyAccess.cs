using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace OrleansServe.ApiHost.Extensions;

/// <summary>Which key, if any, an endpoint asks of its callers.</summary>
public enum ApiAccess
{
    /// <summary>Never keyed: liveness and readiness of the server.</summary>
    Open,

    /// <summary>Inference and what a client reads to form requests (metadata, readiness, statistics); keyed when <see cref="ApiOptions.ProtectInference"/>.</summary>
    Inference,

    /// <summary>Changes or reveals the server's placement and contents (repository, admin); keyed whenever a key is set.</summary>
    Management,

    /// <summary>The Orleans dashboard; keyed when <see cref="ApiOptions.ProtectDashboard"/> (the default once a key is set).</summary>
    Dashboard,
}

/// <summary>The access class of an endpoint, as endpoint metadata.</summary>
public sealed record ApiAccessMetadata(ApiAccess Access);

/// <summary>
/// API key access control: management endpoints require the configured key, inference and the dashboard as configured.
/// An endpoint that declares no access class counts as management, so a forgotten declaration fails closed.
/// </summary>
public static class ApiKeyAccess
{
    /// <summary>The header that carries the key when <c>Authorization: Bearer</c> is not used.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>Declares the access class of the endpoints built by <paramref name="builder"/>.</summary>
    public static TBuilder RequireAccess<TBuilder>(this TBuilder builder, ApiAccess access) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ApiAccessMetadata(access));

    /// <summary>
    /// Refuses with 401 the requests that lack the configured key where their endpoint needs it; without a key
    /// configured it adds nothing. Must run after routing has chosen the endpoint (WebApplication routes first).
    /// </summary>
    public static WebApplication UseApiKeyAccess(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ApiOptions>>().Value;
        if (string.IsNullOrEmpty(options.ApiKey))
        {
            return app;
        }
        // Keys are compared as SHA-256 hashes so that neither the time nor the length of the comparison depends on the key.
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes(options.ApiKey));
        var protectDashboard = options.ProtectDashboard ?? true;
        var dashboardPath = options.DashboardPath?.Trim('/');
        var dashboard = string.IsNullOrEmpty(dashboardPath) ? (PathString?)null : new PathString("/" + dashboardPath);
        app.Logger.LogInformation("API key required for management{Inference}{Dashboard}",
            options.ProtectInference ? ", inference and metadata" : "", protectDashboard ? " and the dashboard" : "");
        app.Use(async (context, next) =>
        {
            var required = AccessOf(context, dashboard) switch
            {
                ApiAccess.Open => false,
                ApiAccess.Inference => options.ProtectInference,
                ApiAccess.Dashboard => protectDashboard,
                _ => true,
            };
            if (required && !HasKey(context.Request, expected))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await ApiErrors.Error(StatusCodes.Status401Unauthorized,
                    $"{context.Request.Path} requires the API key (Authorization: Bearer <key> or {ApiKeyHeader}: <key>)").ExecuteAsync(context);
                return;
            }
            await next(context);
        });
        return app;
    }

    private static ApiAccess AccessOf(HttpContext context, PathString? dashboard)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<ApiAccessMetadata>() is { } declared)
        {
            return declared.Access;
        }
        // The hosting code maps the dashboard without declaring a class, so it is recognised by its path.
        if (dashboard is { } prefix && context.Request.Path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return ApiAccess.Dashboard;
        }
        // No endpoint at all: nothing runs, so inference's rule is enough; an undeclared endpoint fails closed.
        return endpoint is null ? ApiAccess.Inference : ApiAccess.Management;
    }

    private static bool HasKey(HttpRequest request, byte[] expected)
    {
        string? presented = null;
        if (request.Headers.Authorization is { Count: 1 } authorization
            && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = value["Bearer ".Length..].Trim();
        }
        else if (request.Headers.TryGetValue(ApiKeyHeader, out var header) && header.Count == 1)
        {
            presented = header[0];
        }
        return presented is not null
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), expected);
    }
}
