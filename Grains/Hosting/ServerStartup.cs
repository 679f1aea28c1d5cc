using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansServe.Grains.Devices;
using OrleansServe.Grains.Models;
using OrleansServe.Grains.Repository;
using OrleansServe.Grains.Scheduling;
using OrleansServe.Zoo;

namespace OrleansServe.Grains.Hosting;

/// <summary>
/// When the silo becomes active: registers its devices with the scheduler, writes the sample zoo into an empty
/// repository, and loads the repository's models (every one, or with LoadModelsOnStart off the ones the cluster's
/// persisted state says were served). When it stops: withdraws its devices.
/// </summary>
public sealed class ServerStartup(
    DeviceHost devices,
    ModelRepository repository,
    IOptions<OrleansServeOptions> options,
    IGrainFactory grains,
    ILocalSiloDetails silo,
    ILogger<ServerStartup> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes once devices are registered and the start-up load has finished.</summary>
    public Task Started => started.Task;

    /// <inheritdoc />
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ServerStartup), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var scheduler = grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);
            foreach (var device in devices.Devices)
            {
                var key = SiloBoundPlacement.Key(silo.SiloAddress, device.Id);
                await scheduler.RegisterDeviceAsync(await grains.GetGrain<IGpuGrain>(key).DescribeAsync());
            }
            if (options.Value.WriteSampleZooWhenEmpty && repository.IsEmpty())
            {
                var written = SampleZoo.WriteRepository(repository.Root);
                logger.LogInformation("Model repository {Root} was empty: wrote the sample zoo ({Models})", repository.Root, string.Join(", ", written));
            }
            // Without a load of everything, the index still brings back the models a restarted cluster served.
            var repositoryGrain = grains.GetGrain<IRepositoryGrain>(RepositoryGrain.Key);
            var index = options.Value.LoadModelsOnStart ? await repositoryGrain.LoadAllAsync() : await repositoryGrain.IndexAsync();
            foreach (var status in index.Where(s => options.Value.LoadModelsOnStart || s.State != ModelState.Unloaded))
            {
                logger.LogInformation("Model {Model} v{Version}: {State} {Reason}", status.Name, status.Version, status.State, status.Reason);
            }
            started.TrySetResult();
        }
        catch (Exception e)
        {
            started.TrySetException(e);
            throw;
        }
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        var scheduler = grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);
        foreach (var device in devices.Devices)
        {
            try
            {
                await scheduler.UnregisterDeviceAsync(SiloBoundPlacement.Key(silo.SiloAddress, device.Id));
            }
            catch (Exception e)
            {
                logger.LogDebug(e, "Device {Device} could not be withdrawn at shutdown", device.Id);
            }
        }
    }
}
