namespace OrleansServe.Cluster.FunctionalTests;

/// <summary>Cluster settings a silo cannot start with stop it at once, naming the setting.</summary>
public sealed class ClusterSettingsTests
{
    private readonly ClusterNodes nodes = new(redis: "127.0.0.1:6379", repository: Path.GetTempPath());

    [Theory]
    [InlineData("Provider", "azure", "Cluster:Provider must be 'localhost' or 'redis', not 'azure'")]
    [InlineData("Redis", "", "Cluster:Redis must be a Redis connection string")]
    [InlineData("AdvertisedAddress", "not-an-address", "Cluster:AdvertisedAddress must be an IP address")]
    [InlineData("ProbeTimeoutSeconds", "-1", "Cluster:ProbeTimeoutSeconds, Cluster:MissedProbesLimit and Cluster:ResponseTimeoutSeconds must be 0")]
    [InlineData("Kubernetes", "true", "Cluster:Kubernetes is set, but the pod does not set POD_NAME, POD_NAMESPACE, POD_IP")]
    public async Task A_silo_refuses_to_start_with_a_cluster_setting_it_cannot_use(string key, string value, string reason)
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            nodes.StartSiloAsync("silo", RedisServer.FreePort(), RedisServer.FreePort(), $"--Cluster:{key}", value));

        Assert.Contains("exited before it was ready", failure.Message, StringComparison.Ordinal);
        Assert.Contains(reason, failure.Message, StringComparison.Ordinal);
    }
}
