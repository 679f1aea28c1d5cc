using OrleansServe.Engine.Gpu.Native;
using OrleansServe.Engine.Memory;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// Page-locks host buffers with the CUDA driver (cuMemHostRegister), so swap-in copies from them are DMA at full
/// bus speed and truly asynchronous. A refusal (no driver, too much locked memory) is reported, not thrown: copies
/// from unregistered memory still work, staged by the driver. The driver needs a CUDA context current on the calling
/// thread: <paramref name="makeContextCurrent"/> (e.g. an accelerator's Bind) runs before each call.
/// </summary>
/// <param name="driver">The bound driver; the process's one when null (loaded on first use).</param>
/// <param name="makeContextCurrent">Makes a context current on the calling thread, or null when callers already have one.</param>
public sealed class CudaHostRegistrar(CudaDriverApi? driver = null, Action? makeContextCurrent = null) : IHostMemoryRegistrar
{
    /// <inheritdoc />
    public bool TryRegister(IntPtr pointer, long bytes, out string? failure)
    {
        CudaDriverApi api;
        try
        {
            api = driver ?? CudaDriverApi.Load();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            failure = e.Message;
            return false;
        }
        makeContextCurrent?.Invoke();
        var status = api.RegisterHostMemory(pointer, bytes);
        if (status != 0)
        {
            failure = $"cuMemHostRegister_v2 failed: {api.ErrorName(status)} ({status})";
            return false;
        }
        failure = null;
        return true;
    }

    /// <inheritdoc />
    public bool TryUnregister(IntPtr pointer, out string? failure)
    {
        CudaDriverApi api;
        try
        {
            api = driver ?? CudaDriverApi.Load();
            // The registration is portable, so any context of the device will do; once the device is gone there is
            // none to make current, and the driver then reports the range as released with it.
            makeContextCurrent?.Invoke();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or ObjectDisposedException or InvalidOperationException)
        {
            failure = null;
            return true;
        }
        var status = api.UnregisterHostMemory(pointer);
        if (CudaDriverApi.ReleasedStatuses.Contains(status))
        {
            failure = null;
            return true;
        }
        failure = $"cuMemHostUnregister failed: {api.ErrorName(status)} ({status})";
        return false;
    }
}
