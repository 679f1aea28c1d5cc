using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;

namespace OrleansServe.Hosting;

/// <summary>
/// Membership and grain state for silos and clients, from <see cref="ClusterStateOptions"/>: localhost clustering
/// with in-memory state (the default), or Redis clustering with Redis grain state.
/// </summary>
public static class ClusterStateExtensions
{
    /// <summary>Clustering, endpoints and default grain storage of a silo; invalid settings stop start-up with the reason.</summary>
    public static ISiloBuilder UseOrleansServeClusterState(this ISiloBuilder silo, IConfiguration configuration)
    {
        var cluster = ClusterStateOptions.From(configuration);
        silo.Configure<ClusterMembershipOptions>(options =>
        {
            if (cluster.ProbeTimeoutSeconds > 0)
            {
                options.ProbeTimeout = TimeSpan.FromSeconds(cluster.ProbeTimeoutSeconds);
            }
            if (cluster.MissedProbesLimit > 0)
            {
                options.NumMissedProbesLimit = cluster.MissedProbesLimit;
            }
        });
        if (cluster.ResponseTimeoutSeconds > 0)
        {
            silo.Configure<SiloMessagingOptions>(options => options.ResponseTimeout = TimeSpan.FromSeconds(cluster.ResponseTimeoutSeconds));
        }
        if (cluster.Provider == ClusterStateOptions.LocalhostProvider)
        {
            silo.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, serviceId: cluster.ServiceId, clusterId: cluster.ClusterId);
            silo.AddMemoryGrainStorageAsDefault();
            return silo;
        }
        if (cluster.Kubernetes)
        {
            // Name, address and ids come from the pod; the ports stay ours.
            silo.Configure<EndpointOptions>(options =>
            {
                options.SiloPort = cluster.SiloPort;
                options.GatewayPort = cluster.GatewayPort;
            });
            silo.UseKubernetesHosting();
        }
        else
        {
            silo.Configure<ClusterOptions>(options =>
            {
                options.ClusterId = cluster.ClusterId;
                options.ServiceId = cluster.ServiceId;
            });
            if (cluster.AdvertisedAddress.Length > 0)
            {
                silo.ConfigureEndpoints(IPAddress.Parse(cluster.AdvertisedAddress), cluster.SiloPort, cluster.GatewayPort);
            }
            else
            {
                silo.ConfigureEndpoints(cluster.SiloPort, cluster.GatewayPort);
            }
        }
        silo.UseRedisClustering(options => options.ConfigurationOptions = cluster.RedisConfiguration());
        silo.AddRedisGrainStorageAsDefault(options => options.ConfigurationOptions = cluster.RedisConfiguration());
        return silo;
    }

    /// <summary>How a client finds the cluster's gateways; invalid settings stop start-up with the reason.</summary>
    public static IClientBuilder UseOrleansServeClusterState(this IClientBuilder client, IConfiguration configuration)
    {
        var cluster = ClusterStateOptions.From(configuration);
        if (cluster.ResponseTimeoutSeconds > 0)
        {
            client.Configure<ClientMessagingOptions>(options => options.ResponseTimeout = TimeSpan.FromSeconds(cluster.ResponseTimeoutSeconds));
        }
        if (cluster.Provider == ClusterStateOptions.LocalhostProvider)
        {
            return client.UseLocalhostClustering(cluster.GatewayPort, cluster.ServiceId, cluster.ClusterId);
        }
        client.Configure<ClusterOptions>(options =>
        {
            options.ClusterId = cluster.ClusterId;
            options.ServiceId = cluster.ServiceId;
        });
        return client.UseRedisClustering(options => options.ConfigurationOptions = cluster.RedisConfiguration());
    }
}
