namespace OrleansServe.ApiHost.Extensions;

/// <summary>Front-end settings, bound from the "Api" configuration section.</summary>
public sealed class ApiOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Api";

    /// <summary>
    /// "embedded" co-hosts a silo in this process; "client" connects to silos started with the Silo project (the only
    /// mode, and the default, of a client-only build).
    /// </summary>
#if EMBEDDED_SILO
    public string Mode { get; set; } = "embedded";
#else
    public string Mode { get; set; } = "client";
#endif

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L << 20;

    /// <summary>
    /// Inference requests this process serves at once; further ones get 503 with Retry-After at once, before their
    /// body is read. Bounds the front end's memory and keeps its CPU for the requests it admitted; 0 means no limit.
    /// </summary>
    public int MaxConcurrentInferences { get; set; } = 1024;

    /// <summary>Route prefix of the Orleans dashboard; empty turns it off.</summary>
    public string DashboardPath { get; set; } = "/dashboard";

    /// <summary>
    /// The key management endpoints (repository, admin) require, sent as <c>Authorization: Bearer</c> or <c>X-Api-Key</c>;
    /// null or empty leaves every endpoint open.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>Whether inference, model metadata, readiness and statistics also require the key (when one is set).</summary>
    public bool ProtectInference { get; set; }

    /// <summary>Whether the dashboard requires the key (when one is set); unset means yes.</summary>
    public bool? ProtectDashboard { get; set; }
}
