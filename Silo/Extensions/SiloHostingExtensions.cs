using OrleansServe.Grains.Hosting;

namespace OrleansServe.Silo.Extensions;

/// <summary>Wiring of the headless silo of a GPU server.</summary>
public static class SiloHostingExtensions
{
    private static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--model-repository"] = "OrleansServe:ModelRepository",
        ["--silo-port"] = "Cluster:SiloPort",
        ["--gateway-port"] = "Cluster:GatewayPort",
    };

    /// <summary>A silo with localhost clustering, OrleansServe's grains and devices, and the dashboard.</summary>
    public static WebApplicationBuilder AddOrleansServeSilo(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, SwitchMappings);
        var siloPort = builder.Configuration.GetValue("Cluster:SiloPort", 11111);
        var gatewayPort = builder.Configuration.GetValue("Cluster:GatewayPort", 30000);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort);
            silo.AddMemoryGrainStorageAsDefault();
            silo.AddOrleansServe(builder.Configuration);
            Orleans.Dashboard.ServiceCollectionExtensions.AddDashboard(silo);
        });
        return builder;
    }
}
