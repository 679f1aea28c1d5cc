using OrleansServe.Grains.Hosting;
using OrleansServe.Hosting;

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

    /// <summary>A silo with the configured cluster state (localhost or Redis), OrleansServe's grains and devices, and the dashboard.</summary>
    public static WebApplicationBuilder AddOrleansServeSilo(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, SwitchMappings);
        builder.UseOrleans(silo =>
        {
            silo.UseOrleansServeClusterState(builder.Configuration);
            silo.AddOrleansServe(builder.Configuration);
            silo.AddOrleansServeDashboard();
        });
        return builder;
    }
}
