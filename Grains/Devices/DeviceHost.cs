using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Engine.OnnxRuntime;
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
        var gpus = GpuKinds(settings.Gpu);
        Action? bindCuda = null;
        Weights = new HostWeightStore(new HostWeightStoreOptions(settings.HostMemoryBytes)
        {
            // Weights are packed into page-locked transfer groups only when a GPU device will swap them in.
            PrepareForDevices = gpus.Count > 0 ? GraphRewrites.ForGpu : null,
            PinnedCapacityBytes = settings.PinnedMemoryBytes,
            TransferGroupBytes = settings.TransferGroupBytes,
            Registrar = gpus.Contains(GpuDeviceKind.Cuda) ? new CudaHostRegistrar(null, () => bindCuda?.Invoke()) : null,
        });
        try
        {
            foreach (var device in CreateDevices(settings, gpus, Weights))
            {
                devices.Add(device.Id, device);
                if (bindCuda is null && device is GpuExecutionDevice { Kind: "cuda" } cuda)
                {
                    bindCuda = cuda.BindCurrentThread;
                }
                logger.LogInformation(
                    "Device {Id}: {Name}, budget {Budget} bytes, gpulets [{Partitions}]",
                    device.Id, device.Name, device.MemoryBudgetBytes, string.Join(", ", device.Partitions.Select(p => p.SmPercent)));
                if (device is GpuExecutionDevice { GemmFallbackReason: { } reason })
                {
                    logger.LogWarning("Device {Id} runs without cuBLAS: {Reason}", device.Id, reason);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The GPU devices the settings ask for: one kind per device, CUDA ones by ordinal.</summary>
    private static List<GpuDeviceKind> GpuKinds(GpuSettings settings) => settings.Mode switch
    {
        "off" => [],
        "ilgpu-cpu" => [GpuDeviceKind.IlgpuCpu],
        "cuda" => GpuProbe.Run().Devices.Count is > 0 and var count
            ? [.. Enumerable.Repeat(GpuDeviceKind.Cuda, count)]
            : throw new InvalidOperationException($"{OrleansServeOptions.Section}:Gpu:Mode is cuda, but no CUDA device is available"),
        _ => [.. Enumerable.Repeat(GpuDeviceKind.Cuda, GpuProbe.Run().Devices.Count)],
    };

    /// <summary>The CPU device "cpu0", then GPU devices "gpu0", "gpu1", ...</summary>
    private static IEnumerable<IExecutionDevice> CreateDevices(OrleansServeOptions settings, List<GpuDeviceKind> gpus, HostWeightStore weights)
    {
        yield return new CpuDevice("cpu0", settings.CpuDevice.ToOptions(), weights);
        var ordinal = 0;
        for (var i = 0; i < gpus.Count; i++)
        {
            var kind = gpus[i];
            yield return GpuExecutionDevice.StartAsync($"gpu{i}", kind, kind == GpuDeviceKind.Cuda ? ordinal++ : 0, weights, settings.Gpu.ToOptions()).GetAwaiter().GetResult();
        }
    }

    /// <summary>Model weights held by this silo.</summary>
    public HostWeightStore Weights { get; }

    /// <summary>This silo's devices.</summary>
    public IReadOnlyCollection<IExecutionDevice> Devices => devices.Values;

    /// <summary>What a device of <paramref name="silo"/> is, under the key of its device grain.</summary>
    public static DeviceDescription Describe(SiloAddress silo, IExecutionDevice device) =>
        new(SiloBoundPlacement.Key(silo, device.Id), device.Kind, device.Name, silo.ToParsableString(), device.MemoryBudgetBytes);

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
