using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace OrleansServe.ApiHost.FunctionalTests;

/// <summary>
/// The whole ApiHost with its embedded silo over a temporary repository: the sample zoo plus small test models.
/// </summary>
public sealed class ServerFactory : WebApplicationFactory<Program>
{
    public const long BodyLimit = 256 * 1024;

    public string Repository { get; } = Directory.CreateTempSubdirectory("orleansserve-api-").FullName;

    public ServerFactory()
    {
        SampleZoo.WriteRepository(Repository);
        AddModel(Repository, "add", TestModels.AddConstant(1.5f), """{"max_batch_size": 8}""");
        AddModel(Repository, "typed", TestModels.TypedIdentity(), """{"max_batch_size": 8}""");
        AddModel(Repository, "slow_queue", TestModels.AddConstant(0f), """{"max_batch_size": 8, "max_queue_delay_ms": 60000, "max_queue_size": 2}""");
        AddModel(Repository, "broken", [1, 2, 3, 4], "{}");
    }

    public static void AddModel(string repository, string name, byte[] onnx, string config)
    {
        Directory.CreateDirectory(Path.Combine(repository, name, "1"));
        File.WriteAllBytes(Path.Combine(repository, name, "1", "model.onnx"), onnx);
        File.WriteAllText(Path.Combine(repository, name, "config.json"), config);
    }

    /// <summary>A TCP port nobody listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("OrleansServe:ModelRepository", Repository);
        builder.UseSetting("Api:MaxRequestBodyBytes", BodyLimit.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Tests here assert that every request of a burst is answered; admission (Grains.Tests) would rightly refuse
        // some of them behind a queue on a slow machine, since the sample zoo's configs set tight SLOs.
        builder.UseSetting("OrleansServe:Scheduler:Admission", "false");
        builder.UseSetting("Cluster:SiloPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Cluster:GatewayPort", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(Repository))
        {
            Directory.Delete(Repository, recursive: true);
        }
    }
}
