using Microsoft.Extensions.Logging;

namespace OrleansServe.Grains.Scheduling;

/// <summary>
/// The cluster's scheduler. For now it places each model on the least-loaded device with room, preferring the
/// silo that holds the model's weights. The planner (gpulets, batch sizes, swapping) replaces <see cref="ChooseDevice"/>.
/// </summary>
public sealed class SchedulerGrain(ILogger<SchedulerGrain> logger) : Grain, ISchedulerGrain
{
    /// <summary>The singleton key.</summary>
    public const string Key = "default";

    private readonly Dictionary<string, DeviceDescription> devices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Device, long Bytes)> placements = new(StringComparer.Ordinal);
    private long planVersion;

    /// <inheritdoc />
    public Task RegisterDeviceAsync(DeviceDescription device)
    {
        devices[device.Key] = device;
        planVersion++;
        logger.LogInformation("Device {Key} registered: {Name}", device.Key, device.Name);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task UnregisterDeviceAsync(string deviceKey)
    {
        if (devices.Remove(deviceKey))
        {
            foreach (var model in placements.Where(p => p.Value.Device == deviceKey).Select(p => p.Key).ToList())
            {
                placements.Remove(model);
            }
            planVersion++;
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<string> PlaceModelAsync(string model, long bytes, string silo)
    {
        if (placements.TryGetValue(model, out var placed) && devices.TryGetValue(placed.Device, out var current) && current.Silo == silo)
        {
            return Task.FromResult(placed.Device);
        }
        var device = ChooseDevice(bytes, silo)
            ?? throw new InferenceException(InferenceErrorKind.Unavailable,
                devices.Values.Any(d => d.Silo == silo)
                    ? $"model '{model}' ({bytes} bytes) is larger than the memory budget of every device of its silo"
                    : $"no device is registered on silo {silo}");
        placements[model] = (device.Key, bytes);
        planVersion++;
        return Task.FromResult(device.Key);
    }

    /// <inheritdoc />
    public Task RemoveModelAsync(string model)
    {
        if (placements.Remove(model))
        {
            planVersion++;
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<Plan> GetPlanAsync()
    {
        var assignments = devices.Values
            .OrderBy(d => d.Key, StringComparer.Ordinal)
            .Select(d =>
            {
                var models = placements.Where(p => p.Value.Device == d.Key).Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();
                return new DeviceAssignment(d.Key, 100, models, new int[models.Length]);
            })
            .ToArray();
        return Task.FromResult(new Plan(planVersion, assignments));
    }

    /// <inheritdoc />
    public Task<DeviceDescription[]> GetDevicesAsync() => Task.FromResult(devices.Values.ToArray());

    /// <summary>Least-loaded (by share of its budget placed) device of the silo that the model fits on.</summary>
    private DeviceDescription? ChooseDevice(long bytes, string silo) =>
        devices.Values
            .Where(d => d.Silo == silo && bytes <= d.MemoryBudgetBytes)
            .OrderBy(d => (double)placements.Values.Where(p => p.Device == d.Key).Sum(p => p.Bytes) / d.MemoryBudgetBytes)
            .ThenBy(d => d.Key, StringComparer.Ordinal)
            .FirstOrDefault();
}
