using Microsoft.AspNetCore.Builder;
using Orleans.Dashboard;

namespace OrleansServe.Hosting;

/// <summary>The Orleans dashboard as every OrleansServe host serves it.</summary>
public static class DashboardExtensions
{
    /// <summary>The dashboard's data collection on a silo.</summary>
    public static ISiloBuilder AddOrleansServeDashboard(this ISiloBuilder silo) => ServiceCollectionExtensions.AddDashboard(silo);

    /// <summary>The dashboard's data collection on a cluster client.</summary>
    public static IClientBuilder AddOrleansServeDashboard(this IClientBuilder client) => ServiceCollectionExtensions.AddDashboard(client);

    /// <summary>Maps the dashboard under <paramref name="path"/>; an empty path maps nothing.</summary>
    public static WebApplication MapOrleansServeDashboard(this WebApplication app, string? path)
    {
        if (!string.IsNullOrEmpty(path))
        {
            app.MapOrleansDashboard(path);
        }
        return app;
    }
}
