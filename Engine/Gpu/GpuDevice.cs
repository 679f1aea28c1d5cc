using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace OrleansServe.Engine.Gpu;

/// <summary>Which accelerator runs the engine's kernels.</summary>
public enum GpuDeviceKind
{
    /// <summary>An NVIDIA GPU through ILGPU's CUDA backend (cuBLAS for GEMM when it loads).</summary>
    Cuda,

    /// <summary>ILGPU's CPU accelerator: the same kernels, simulated on the CPU; slow, for tests and machines without a GPU.</summary>
    IlgpuCpu,
}

/// <summary>
/// One accelerator with its stream, kernels and GEMM. ILGPU binds an accelerator to the thread that uses it, so a
/// device is created, used and disposed on one dedicated device thread (see <see cref="DeviceWorker"/>).
/// </summary>
public sealed class GpuDevice : IDisposable
{
    private readonly Context context;
    private readonly int maxGroups;
    private readonly int groupSize;

    private GpuDevice(Context context, Accelerator accelerator, GpuDeviceKind kind, Func<GpuDevice, IGemm?>? gemmFactory)
    {
        this.context = context;
        Accelerator = accelerator;
        Kind = kind;
        Stream = accelerator.CreateStream();
        if (kind == GpuDeviceKind.IlgpuCpu)
        {
            // Every simulated thread is costly on the CPU accelerator: few threads, many elements each.
            groupSize = Math.Min(16, accelerator.MaxNumThreadsPerGroup);
            maxGroups = 4;
        }
        else
        {
            groupSize = 256;
            maxGroups = accelerator.NumMultiprocessors * 8;
        }
        Kernels = new KernelSet(accelerator);
        Gemm = (gemmFactory ?? PreferCuBlas).Invoke(this) ?? new IlgpuGemm(this);
    }

    public GpuDeviceKind Kind { get; }

    /// <summary>"cuda" or "ilgpu-cpu".</summary>
    public string KindName => Kind == GpuDeviceKind.Cuda ? "cuda" : "ilgpu-cpu";

    public string Name => Accelerator.Name;

    public Accelerator Accelerator { get; }

    /// <summary>The stream all of this device's work is enqueued on.</summary>
    public AcceleratorStream Stream { get; }

    /// <summary>The GEMM in use (cuBLAS or the ILGPU fallback); its name says which.</summary>
    public IGemm Gemm { get; }

    internal KernelSet Kernels { get; }

    /// <summary>Bytes of device memory.</summary>
    public long MemoryBytes => Accelerator.MemorySize;

    /// <summary>Creates the device. Call on the thread that will use it.</summary>
    /// <param name="gemmFactory">Makes the GEMM; null selects cuBLAS on CUDA when it loads, and the ILGPU kernel otherwise
    /// (a factory returning null also selects the ILGPU kernel).</param>
    /// <exception cref="NotSupportedException">No CUDA device is present (for <see cref="GpuDeviceKind.Cuda"/>).</exception>
    public static GpuDevice Create(GpuDeviceKind kind, int ordinal = 0, Func<GpuDevice, IGemm?>? gemmFactory = null)
    {
        if (kind == GpuDeviceKind.IlgpuCpu)
        {
            var cpuContext = Context.Create(b => b.CPU().EnableAlgorithms());
            return new GpuDevice(cpuContext, cpuContext.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel), kind, gemmFactory);
        }
        // ILGPU decides once per process whether the CUDA driver loads; make libcuda.so.1 findable before it looks.
        Native.CudaDriver.EnsureResolvable();
        var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        var devices = context.GetCudaDevices();
        if (ordinal < 0 || ordinal >= devices.Count)
        {
            context.Dispose();
            throw new NotSupportedException(devices.Count == 0
                ? "no CUDA device is available (ILGPU found none: no NVIDIA driver, or no GPU)"
                : $"CUDA device {ordinal} does not exist; this machine has {devices.Count}");
        }
        return new GpuDevice(context, context.CreateCudaAccelerator(ordinal), kind, gemmFactory);
    }

    /// <summary>Why cuBLAS is not in use on a CUDA device (null when it is, or on the CPU accelerator).</summary>
    public string? GemmFallbackReason { get; private set; }

    /// <summary>cuBLAS on a CUDA device when the library loads; otherwise null, with the reason kept for logs.</summary>
    public static IGemm? PreferCuBlas(GpuDevice device)
    {
        if (device.Accelerator is not CudaAccelerator cuda || device.Stream is not CudaStream stream)
        {
            return null;
        }
        try
        {
            return new CuBlasGemm(cuda, stream);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or Native.CuBlasException or NotSupportedException)
        {
            device.GemmFallbackReason = $"cuBLAS unavailable, using the ILGPU tiled GEMM: {e.Message}";
            return null;
        }
    }

    /// <summary>A grid-stride launch for <paramref name="elements"/> work items.</summary>
    internal KernelConfig Launch(long elements)
    {
        var groups = (int)Math.Clamp((elements + groupSize - 1) / groupSize, 1, maxGroups);
        return new KernelConfig(groups, groupSize);
    }

    /// <summary>
    /// A launch with one thread group per row (grid-stride over rows), for the row kernels: a power-of-two group
    /// no larger than the row (so few threads idle) and no larger than the kernels' shared memory.
    /// </summary>
    internal KernelConfig LaunchRows(long rows, int cols)
    {
        var limit = Math.Min(global::OrleansServe.Engine.Gpu.Kernels.NeuralKernels.MaxRowGroup, Kind == GpuDeviceKind.IlgpuCpu ? groupSize : Accelerator.MaxNumThreadsPerGroup);
        var group = 1;
        while (group * 2 <= limit && group * 2 <= Math.Max(cols, Accelerator.WarpSize))
        {
            group *= 2;
        }
        var groups = (int)Math.Clamp(rows, 1, Kind == GpuDeviceKind.IlgpuCpu ? maxGroups : Accelerator.NumMultiprocessors * 32L);
        return new KernelConfig(groups, group);
    }

    /// <summary>Waits for all work enqueued on the stream.</summary>
    public void Synchronize() => Stream.Synchronize();

    public void Dispose()
    {
        Gemm.Dispose();
        Stream.Dispose();
        Accelerator.Dispose();
        context.Dispose();
    }
}
