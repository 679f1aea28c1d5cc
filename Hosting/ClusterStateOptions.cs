using System.Net;
using Microsoft.Extensions.Configuration;
using StackExchange.Redis;

namespace OrleansServe.Hosting;

/// <summary>
/// Where the cluster keeps its membership and grain state, bound from the "Cluster" configuration section and shared
/// by the silo host, the embedded silo and the cluster client.
/// </summary>
public sealed class ClusterStateOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "Cluster";

    /// <summary>Provider value: localhost clustering and in-memory grain state (one machine, nothing survives a restart).</summary>
    public const string LocalhostProvider = "localhost";

    /// <summary>Provider value: membership and grain state in Redis (several silos, state survives a whole-cluster restart).</summary>
    public const string RedisProvider = "redis";

    /// <summary>"localhost" (the default) or "redis".</summary>
    public string Provider { get; set; } = LocalhostProvider;

    /// <summary>The Redis connection string (StackExchange.Redis format, e.g. <c>127.0.0.1:6379</c>); required with the redis provider.</summary>
    public string Redis { get; set; } = "";

    /// <summary>The cluster's id: silos and clients with the same id form one cluster.</summary>
    public string ClusterId { get; set; } = "orleansserve";

    /// <summary>The service's id: grain state is stored under it, so it must stay the same across restarts and deployments.</summary>
    public string ServiceId { get; set; } = "orleansserve";

    /// <summary>Silo-to-silo port of this silo.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Gateway port clients connect to (with localhost clustering, the port the client connects to).</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// The address a silo advertises to the others through Redis; empty takes the machine's own address. Set it to
    /// 127.0.0.1 to keep a cluster on one machine.
    /// </summary>
    public string AdvertisedAddress { get; set; } = "";

    /// <summary>
    /// Run as a Kubernetes pod (Microsoft.Orleans.Hosting.Kubernetes): the silo takes its name, advertised address
    /// and cluster and service ids from the pod (environment variables <c>POD_NAME</c>, <c>POD_NAMESPACE</c>,
    /// <c>POD_IP</c>, <c>ORLEANS_CLUSTER_ID</c>, <c>ORLEANS_SERVICE_ID</c>), and silos whose pods are gone are
    /// declared dead without waiting for missed probes. Membership and state still live in Redis.
    /// </summary>
    public bool Kubernetes { get; set; }

    /// <summary>
    /// Seconds a silo waits for a liveness probe's answer before counting it missed (0: Orleans' default). With
    /// <see cref="MissedProbesLimit"/> it sets how soon a dead silo is declared dead and leaves the plan.
    /// </summary>
    public double ProbeTimeoutSeconds { get; set; }

    /// <summary>Missed probes in a row after which a silo is suspected dead (0: Orleans' default).</summary>
    public int MissedProbesLimit { get; set; }

    /// <summary>
    /// Seconds a caller waits for a grain call's answer before it fails with a timeout (0: Orleans' default, 30 s).
    /// A call whose silo died mid-call waits this long unless the front end retries it first.
    /// </summary>
    public double ResponseTimeoutSeconds { get; set; }

    /// <summary>The environment variables Kubernetes hosting reads from the pod.</summary>
    public static IReadOnlyList<string> PodVariables { get; } = ["POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_CLUSTER_ID", "ORLEANS_SERVICE_ID"];

    /// <summary>The settings of a configuration, bound and checked; throws <see cref="InvalidOperationException"/> with the reason when they are invalid.</summary>
    public static ClusterStateOptions From(IConfiguration configuration)
    {
        var options = new ClusterStateOptions();
        configuration.GetSection(Section).Bind(options);
        return options.Validate() is { } error ? throw new InvalidOperationException(error) : options;
    }

    /// <summary>Why these settings cannot start a silo or a client, or null when they can.</summary>
    public string? Validate()
    {
        if (Provider is not (LocalhostProvider or RedisProvider))
        {
            return $"{Section}:Provider must be '{LocalhostProvider}' or '{RedisProvider}', not '{Provider}'";
        }
        if (SiloPort is < 1 or > 65535 || GatewayPort is < 1 or > 65535 || SiloPort == GatewayPort)
        {
            return $"{Section}:SiloPort ({SiloPort}) and {Section}:GatewayPort ({GatewayPort}) must be two different ports from 1 to 65535";
        }
        if (ProbeTimeoutSeconds < 0 || MissedProbesLimit < 0 || ResponseTimeoutSeconds < 0
            || !double.IsFinite(ProbeTimeoutSeconds) || !double.IsFinite(ResponseTimeoutSeconds))
        {
            return $"{Section}:ProbeTimeoutSeconds, {Section}:MissedProbesLimit and {Section}:ResponseTimeoutSeconds must be 0 (Orleans' default) or positive";
        }
        if (string.IsNullOrWhiteSpace(ClusterId) || string.IsNullOrWhiteSpace(ServiceId))
        {
            return $"{Section}:ClusterId and {Section}:ServiceId cannot be empty";
        }
        if (Kubernetes && Provider != RedisProvider)
        {
            return $"{Section}:Kubernetes needs {Section}:Provider '{RedisProvider}': Kubernetes hosting keeps membership in a clustering provider";
        }
        if (Kubernetes && PodVariables.Where(v => string.IsNullOrEmpty(Environment.GetEnvironmentVariable(v))).ToList() is { Count: > 0 } missing)
        {
            return $"{Section}:Kubernetes is set, but the pod does not set {string.Join(", ", missing)} (see deploy/kubernetes/silo.yaml)";
        }
        if (Provider == LocalhostProvider)
        {
            return null;
        }
        if (string.IsNullOrWhiteSpace(Redis))
        {
            return $"{Section}:Redis must be a Redis connection string (e.g. 127.0.0.1:6379) when {Section}:Provider is '{RedisProvider}'";
        }
        try
        {
            if (RedisConfiguration().EndPoints.Count == 0)
            {
                return $"{Section}:Redis '{Redis}' names no Redis server (e.g. 127.0.0.1:6379)";
            }
        }
        catch (ArgumentException e)
        {
            return $"{Section}:Redis '{Redis}' is not a Redis connection string: {e.Message}";
        }
        if (AdvertisedAddress.Length > 0 && !IPAddress.TryParse(AdvertisedAddress, out _))
        {
            return $"{Section}:AdvertisedAddress must be an IP address (or empty for the machine's own), not '{AdvertisedAddress}'";
        }
        return null;
    }

    /// <summary>A fresh client configuration for <see cref="Redis"/> (each provider gets its own).</summary>
    public ConfigurationOptions RedisConfiguration() => ConfigurationOptions.Parse(Redis);
}
