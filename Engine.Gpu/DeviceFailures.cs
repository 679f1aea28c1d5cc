using ILGPU.Runtime;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu.Native;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// What the device layer throws when the GPU, its driver or its libraries fail (rather than the model or the
/// caller), in one list for the code that records such a failure and goes on: benchmarks, probes, fallbacks.
/// </summary>
public static class DeviceFailures
{
    /// <summary>
    /// True for ILGPU's accelerator errors (CUDA ones included), cuBLAS statuses, failed driver calls, missing
    /// libraries or entry points, devices or features not present, device memory exhausted and void swap-ins.
    /// </summary>
    public static bool IsDeviceFailure(Exception e) =>
        e is AcceleratorException or CuBlasException or InvalidOperationException or NotSupportedException or DllNotFoundException
            or EntryPointNotFoundException or OutOfMemoryException or DeviceMemoryException or SwapInException;
}
