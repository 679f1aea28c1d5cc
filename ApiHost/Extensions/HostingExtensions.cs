#if EMBEDDED_SILO
using OrleansServe.Grains.Hosting;
#endif
using OrleansServe.Hosting;

namespace OrleansServe.ApiHost.Extensions;

/// <summary>Service registration of the HTTP front end.</summary>
public static class HostingExtensions
{
    /// <summary>Short command-line switches for the settings users change most.</summary>
    private static readonly Dictionary<string, string> SwitchMappings = new()
    {
        ["--model-repository"] = "OrleansServe:ModelRepository",
        ["--mode"] = "Api:Mode",
        ["--urls"] = "urls",
    };

    /// <summary>
    /// Configuration, Kestrel limits, OpenAPI and Orleans (an embedded silo or a cluster client), with the cluster
    /// state the "Cluster" section names (<see cref="ClusterStateOptions"/>).
    /// </summary>
    public static WebApplicationBuilder AddOrleansServeApi(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddCommandLine(args, SwitchMappings);
        var api = builder.Configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
        builder.Services.Configure<ApiOptions>(builder.Configuration.GetSection(ApiOptions.Section));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = api.MaxRequestBodyBytes);
        builder.Services.AddOpenApi();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            json.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());
        });
        builder.Services.AddSingleton<SiloLossRetry>();
        builder.Services.AddInferenceLimit();
        builder.Services.AddSingleton<ServerReadiness>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ServerReadiness>());

        switch (api.Mode)
        {
            case "embedded":
#if EMBEDDED_SILO
                builder.UseOrleans(silo =>
                {
                    silo.UseOrleansServeClusterState(builder.Configuration);
                    silo.AddOrleansServe(builder.Configuration);
                    silo.AddOrleansServeDashboard();
                });
                break;
#else
                throw new InvalidOperationException($"{ApiOptions.Section}:Mode is 'embedded', but this ApiHost was built client-only (-p:ClientOnly=true): set it to 'client'");
#endif
            case "client":
                builder.UseOrleansClient(client =>
                {
                    client.UseOrleansServeClusterState(builder.Configuration);
                    client.Services.AddSingleton<IClusterConnectionStatusObserver>(sp => sp.GetRequiredService<SiloLossRetry>());
                    client.AddOrleansServeDashboard();
                });
                break;
            default:
                throw new InvalidOperationException($"Api:Mode must be 'embedded' or 'client', not '{api.Mode}'");
        }
        return builder;
    }

    /// <summary>Maps the Orleans dashboard under its configured path (empty: not mapped).</summary>
    public static WebApplication MapOrleansServeDashboard(this WebApplication app)
    {
        var path = app.Configuration.GetSection(ApiOptions.Section).Get<ApiOptions>()?.DashboardPath ?? "/dashboard";
        return Hosting.DashboardExtensions.MapOrleansServeDashboard(app, path);
    }
}
