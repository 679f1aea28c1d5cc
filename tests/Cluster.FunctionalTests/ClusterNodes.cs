using System.Globalization;
using OrleansServe.Engine.OnnxRuntime;

namespace OrleansServe.Cluster.FunctionalTests;

/// <summary>
/// Starts the real hosts of one cluster on Redis: headless silos (<c>OrleansServe.Silo.dll</c>) and an ApiHost in
/// client mode, each a <c>dotnet</c> process with its settings on the command line, on loopback ports of its own.
/// </summary>
public sealed class ClusterNodes(string redis, string repository)
{
    /// <summary>A cluster and service id of this cluster alone, so clusters of different tests never meet in one Redis.</summary>
    public string ClusterId { get; } = "test-" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// Starts a silo on the given ports; returns once its host has started (devices registered, start-up load done).
    /// Settings given as <c>--Key value</c> pairs come last, so they override the cluster's.
    /// </summary>
    public Task<ChildProcess> StartSiloAsync(string name, int siloPort, int gatewayPort, params string[] settings) =>
        ChildProcess.StartAsync(name, "dotnet",
            [
                Dll("OrleansServe.Silo.dll"),
                "--urls", $"http://127.0.0.1:{RedisServer.FreePort()}",
                "--Cluster:SiloPort", Text(siloPort),
                "--Cluster:GatewayPort", Text(gatewayPort),
                .. CommonSettings(),
                .. settings,
            ],
            AppContext.BaseDirectory,
            // Logged once the hosted silo has started, which is after its start-up work.
            readyLine: "Application started");

    /// <summary>Starts an ApiHost in client mode; returns it once it logs that it is ready, with a client for its HTTP port.</summary>
    public Task<(ChildProcess Process, HttpClient Http)> StartApiHostAsync(string name) => StartApiHostAsync(name, ["--mode", "client"]);

    /// <summary>
    /// Starts an ApiHost in embedded mode as a member of the cluster: a silo with its own devices on the given ports,
    /// serving HTTP as well. Returns once it logs that it is ready, with a client for its HTTP port.
    /// </summary>
    public Task<(ChildProcess Process, HttpClient Http)> StartMemberApiHostAsync(string name, int siloPort, int gatewayPort) =>
        StartApiHostAsync(name, ["--mode", "embedded", "--Cluster:SiloPort", Text(siloPort), "--Cluster:GatewayPort", Text(gatewayPort)]);

    private async Task<(ChildProcess Process, HttpClient Http)> StartApiHostAsync(string name, string[] mode)
    {
        var port = RedisServer.FreePort();
        var process = await ChildProcess.StartAsync(name, "dotnet",
            [
                Dll("OrleansServe.ApiHost.dll"),
                .. mode,
                "--urls", $"http://127.0.0.1:{port}",
                .. CommonSettings(),
            ],
            AppContext.BaseDirectory,
            readyLine: "OrleansServe ready");
        return (process, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
    }

    private IEnumerable<string> CommonSettings() =>
    [
        "--Cluster:Provider", "redis",
        "--Cluster:Redis", redis,
        "--Cluster:ClusterId", ClusterId,
        "--Cluster:ServiceId", ClusterId,
        "--Cluster:AdvertisedAddress", "127.0.0.1",
        // A killed silo is declared dead after two missed 2 s probes rather than Orleans' three 5 s ones.
        "--Cluster:ProbeTimeoutSeconds", "2",
        "--Cluster:MissedProbesLimit", "2",
        "--OrleansServe:ModelRepository", repository,
        "--OrleansServe:LoadModelsOnStart", "false",
        "--OrleansServe:WriteSampleZooWhenEmpty", "false",
        "--OrleansServe:CpuDevice:Cores", "1",
        "--OrleansServe:Gpu:Mode", "off",
        // Only asked-for re-plans, so the schedule a test reads is the one it asked for.
        "--OrleansServe:Scheduler:ReplanPeriodSeconds", "0",
    ];

    private static string Dll(string name) => Path.Combine(AppContext.BaseDirectory, name);

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
