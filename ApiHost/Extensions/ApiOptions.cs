namespace OrleansServe.ApiHost.Extensions;

/// <summary>Front-end settings, bound from the "Api" configuration section.</summary>
public sealed class ApiOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Api";

    /// <summary>"embedded" co-hosts a silo in this process; "client" connects to silos started with the Silo project.</summary>
    public string Mode { get; set; } = "embedded";

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 64L << 20;

    /// <summary>Route prefix of the Orleans dashboard; empty turns it off.</summary>
    public string DashboardPath { get; set; } = "/dashboard";
}
