using OrleansServe.Engine.Execution;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// A <see cref="GpuDevice"/> with its own dedicated thread: the device is created, used and disposed there, because
/// ILGPU binds an accelerator to a thread. Callers (grains, the CLI, tests) hand it work and await the result.
/// </summary>
public sealed class DeviceWorker : IDisposable
{
    private readonly DeviceThreads thread;
    private readonly GpuDevice device;

    private DeviceWorker(DeviceThreads thread, GpuDevice device)
    {
        this.thread = thread;
        this.device = device;
    }

    /// <summary>What the device is, e.g. "ilgpu-cpu: CPUAccelerator (gemm ilgpu-tiled)".</summary>
    public string Description => $"{device.KindName}: {device.Name} (gemm {device.Gemm.Name})";

    /// <summary>The GEMM in use, and why cuBLAS is not when it is not.</summary>
    public string GemmDescription => device.GemmFallbackReason is { } reason ? $"{device.Gemm.Name}; {reason}" : device.Gemm.Name;

    public GpuDeviceKind Kind => device.Kind;

    /// <summary>Starts the thread and creates the device on it.</summary>
    /// <exception cref="NotSupportedException">The kind of device is not present.</exception>
    public static Task<DeviceWorker> StartAsync(GpuDeviceKind kind, int ordinal = 0, Func<GpuDevice, IGemm?>? gemmFactory = null) =>
        StartAsync($"gpu-{kind}-{ordinal}", () => GpuDevice.Create(kind, ordinal, gemmFactory));

    /// <summary>Starts a thread named <paramref name="name"/> and makes the device there with <paramref name="create"/>.</summary>
    public static async Task<DeviceWorker> StartAsync(string name, Func<GpuDevice> create)
    {
        var thread = new DeviceThreads(name, 1);
        try
        {
            var device = await thread.RunAsync(create);
            return new DeviceWorker(thread, device);
        }
        catch
        {
            thread.Dispose();
            throw;
        }
    }

    /// <summary>Runs work with the device on its thread.</summary>
    public Task<T> RunAsync<T>(Func<GpuDevice, T> work) => thread.RunAsync(() => work(device));

    /// <summary>Runs work with the device on its thread and waits for it (for command-line tools and tests).</summary>
    public T Run<T>(Func<GpuDevice, T> work) => RunAsync(work).GetAwaiter().GetResult();

    public void Dispose()
    {
        thread.RunAsync(() =>
        {
            device.Dispose();
            return true;
        }).GetAwaiter().GetResult();
        thread.Dispose();
    }
}
