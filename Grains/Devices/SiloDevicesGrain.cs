using OrleansServe.Grains.Hosting;

namespace OrleansServe.Grains.Devices;

/// <summary>Lists the devices of the silo named in its key; the scheduler's way to learn a live silo's devices.</summary>
[SiloBoundPlacement]
[Reentrant] // Holds nothing: a read of this silo's device host.
public sealed class SiloDevicesGrain(DeviceHost host) : Grain, ISiloDevicesGrain
{
    /// <summary>The local id in a silo's key for this grain.</summary>
    public const string LocalId = "devices";

    /// <inheritdoc />
    public Task<DeviceDescription[]> DescribeAsync()
    {
        var (silo, _) = SiloBoundPlacement.Parse(this.GetPrimaryKeyString());
        return Task.FromResult(host.Devices.Select(d => DeviceHost.Describe(silo, d)).ToArray());
    }
}
