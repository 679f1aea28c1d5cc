using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansServe.Engine.Execution;
using OrleansServe.Grains.Hosting;

namespace OrleansServe.Grains.Devices;

/// <summary>
/// The devices and the host weight store of this silo. Device grains find their device here; model grains put
/// their weights here so that a swap-in never crosses the network.
/// </summary>
public sealed class DeviceHost : IDisposable
{
    private readonly Dictionary<string, IExecutionDevice> devices = new(StringComparer.Ordinal);

    /// <summary>Creates this silo's devices from its settings; throws <see cref="InvalidOperationException"/> naming a bad setting.</summary>
    public DeviceHost(IOptions<OrleansServeOptions> options, ILogger<DeviceHost> logger)
    {
        var settings = options.Value;
        Weights = new HostWeightStore(settings.HostMemoryBytes);
        foreach (var device in CreateDevices(settings, Weights))
        {
            devices.Add(device.Id, device);
            logger.LogInformation(
                "Device {Id}: {Name}, budget {Budget} bytes, gpulets [{Partitions}]",
                device.Id, device.Name, device.MemoryBudgetBytes, string.Join(", ", device.Partitions.Select(p => p.SmPercent)));
        }
    }

    /// <summary>The devices the settings describe: for now the CPU device "cpu0" (GPU devices join this list).</summary>
    private static IEnumerable<IExecutionDevice> CreateDevices(OrleansServeOptions settings, HostWeightStore weights)
    {
        yield return new CpuDevice("cpu0", settings.CpuDevice.ToOptions(), weights);
    }

    /// <summary>Model weights held by this silo.</summary>
    public HostWeightStore Weights { get; }

    /// <summary>This silo's devices.</summary>
    public IReadOnlyCollection<IExecutionDevice> Devices => devices.Values;

    /// <summary>Finds a device by its local id.</summary>
    public bool TryGet(string id, out IExecutionDevice device) => devices.TryGetValue(id, out device!);

    /// <summary>Stops the device threads and drops residency.</summary>
    public void Dispose()
    {
        foreach (var device in devices.Values)
        {
            device.Dispose();
        }
    }
}
