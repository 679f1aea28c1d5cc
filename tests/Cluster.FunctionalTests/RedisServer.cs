using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OrleansServe.Cluster.FunctionalTests;

/// <summary>
/// A real redis-server on a loopback port of its own, without persistence to disk, for the tests of one class. The
/// test command (scripts/test.sh) installs redis-server when it is missing, so a missing binary fails the tests.
/// </summary>
public sealed class RedisServer : IAsyncLifetime
{
    private ChildProcess? process;

    /// <summary>The StackExchange.Redis connection string of the server.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var binary = FindOnPath("redis-server")
            ?? throw new InvalidOperationException(
                "redis-server is not installed: run scripts/test.sh (it installs it), or 'sudo apt-get install -y redis-server'");
        var port = FreePort();
        process = await ChildProcess.StartAsync(
            "redis-server",
            binary,
            ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            workingDirectory: Path.GetTempPath(),
            readyLine: "Ready to accept connections");
        ConnectionString = $"127.0.0.1:{port}";
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (process is not null)
        {
            await process.DisposeAsync();
        }
    }

    /// <summary>A TCP port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
