using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OrleansServe.Grains.Devices;
using OrleansServe.Grains.Repository;

namespace OrleansServe.Grains.Hosting;

/// <summary>Adds OrleansServe's grains, devices and start-up work to a silo.</summary>
public static class SiloBuilderExtensions
{
    /// <summary>
    /// Registers the model repository, this silo's devices and host weight store, the silo-bound placement of
    /// device grains, and the start-up that registers devices and loads the repository's models.
    /// </summary>
    public static ISiloBuilder AddOrleansServe(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<OrleansServeOptions>().Bind(configuration.GetSection(OrleansServeOptions.Section)).ValidateOnStart();
        silo.Services.AddSingleton<IValidateOptions<OrleansServeOptions>, OrleansServeOptionsValidator>();
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.AddSingleton<DeviceHost>();
        silo.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<OrleansServeOptions>>().Value;
            return new ModelRepository(options.ModelRepository, options.MaxModelBytes);
        });
        silo.Services.AddSingleton<ServerStartup>();
        silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<ServerStartup>());
        silo.AddPlacementDirector<SiloBoundPlacement, SiloBoundPlacementDirector>();
        return silo;
    }
}
