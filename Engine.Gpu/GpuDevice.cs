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
    private readonly bool ownsAccelerator;

    private GpuDevice(Context context, Accelerator accelerator, GpuDeviceKind kind, Func<GpuDevice, IGemm?>? gemmFactory, GreenContext? green = null)
    {
        this.context = context;
        Accelerator = accelerator;
        Kind = kind;
        Green = green;
        Stream = accelerator.CreateStream();
        try
        {
            var sms = green?.SmCount ?? accelerator.NumMultiprocessors;
            Limits = kind == GpuDeviceKind.IlgpuCpu
                // Every simulated thread is costly on the CPU accelerator: few threads, many elements each.
                ? new LaunchLimits(Math.Min(16, accelerator.MaxNumThreadsPerGroup), MaxGroups: 4, MaxRowGroups: 4)
                : new LaunchLimits(256, sms * 8, sms * 32);
            Kernels = new KernelSet(accelerator);
            Gemm = (gemmFactory ?? PreferCuBlas).Invoke(this) ?? new IlgpuGemm(this);
        }
        catch
        {
            Stream.Dispose();
            throw;
        }
        ownsAccelerator = green is null;
    }

    // A partition: the parent's accelerator and kernels, its own stream, GEMM and grid caps.
    private GpuDevice(GpuDevice parent, int smPercent, Func<GpuDevice, IGemm?>? gemmFactory)
    {
        context = parent.context;
        Accelerator = parent.Accelerator;
        Kind = parent.Kind;
        SmPercent = smPercent;
        Stream = Accelerator.CreateStream();
        Limits = parent.Limits.Share(smPercent);
        Kernels = parent.Kernels;
        try
        {
            Gemm = (gemmFactory ?? PreferCuBlas).Invoke(this) ?? new IlgpuGemm(this);
        }
        catch
        {
            Stream.Dispose();
            throw;
        }
        ownsAccelerator = false;
    }

    /// <summary>
    /// A partition of this device for a gpulet: the same accelerator and compiled kernels, its own stream, grid
    /// caps scaled to <paramref name="smPercent"/> (at least one group) and its own GEMM (on CUDA a cuBLAS handle
    /// sized for its SMs when cuBLAS can be capped). Disposing it leaves this device alone. On CUDA, use it from a
    /// thread that has bound the accelerator.
    /// </summary>
    public GpuDevice CreatePartition(int smPercent, Func<GpuDevice, IGemm?>? gemmFactory = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(smPercent, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(smPercent, 100);
        return new GpuDevice(this, smPercent, gemmFactory);
    }

    /// <summary>Compute share in percent: 100 for a whole device, the gpulet's share for a partition.</summary>
    public int SmPercent { get; } = 100;

    /// <summary>SMs this device's kernels are sized for: round(SMs × share), at least 1 (on CUDA); a green context's own SMs.</summary>
    public int SmCount => Green?.SmCount ?? Math.Max(1, (int)Math.Round(Accelerator.NumMultiprocessors * SmPercent / 100.0));

    /// <summary>The green context this device runs in (see <see cref="CreateOnGreenContext"/>), or null.</summary>
    public GreenContext? Green { get; }

    /// <summary>Group size and grid caps every launch on this device (or partition) stays within.</summary>
    public LaunchLimits Limits { get; }

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
            return Build(Context.Create(b => b.CPU().EnableAlgorithms()), c => c.CreateCPUAccelerator(0, CPUAcceleratorMode.Parallel), kind, gemmFactory);
        }
        return Build(CudaContext(), c => CudaAccelerator(c, ordinal), kind, gemmFactory);
    }

    /// <summary>
    /// A CUDA device whose every kernel runs inside a green context of at least <paramref name="smCount"/> SMs
    /// (rounded up by the driver to the architecture's granularity), for measuring green contexts against the grid caps
    /// gpulets use. ILGPU 1.5 cannot adopt a context it did not create, so the accelerator's context handle is replaced
    /// by the green context's before any stream, kernel or buffer is made; such a device is for a benchmark process:
    /// disposing it releases what this engine made, and the accelerator and green context live until the process ends.
    /// Call on the thread that will use it.
    /// </summary>
    /// <exception cref="NotSupportedException">No CUDA device, or a driver without green contexts.</exception>
    public static GpuDevice CreateOnGreenContext(int ordinal, int smCount, Func<GpuDevice, IGemm?>? gemmFactory = null)
    {
        Native.GreenContextApi api;
        try
        {
            api = new Native.GreenContextApi(Native.CudaDriverApi.Load());
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new NotSupportedException(e.Message, e);
        }
        var context = CudaContext();
        CudaAccelerator? accelerator = null;
        GreenContext? green = null;
        try
        {
            accelerator = CudaAccelerator(context, ordinal);
            green = GreenContext.Adopt(api, accelerator, ordinal, smCount);
            return new GpuDevice(context, accelerator, GpuDeviceKind.Cuda, gemmFactory, green);
        }
        catch when (green is null)
        {
            // Before the accelerator took the green context's handle, ILGPU can still release what it made.
            accelerator?.Dispose();
            context.Dispose();
            throw;
        }
    }

    // Builds a device; a failure on the way disposes the accelerator and context it made.
    private static GpuDevice Build(Context context, Func<Context, Accelerator> accelerate, GpuDeviceKind kind, Func<GpuDevice, IGemm?>? gemmFactory)
    {
        Accelerator? accelerator = null;
        try
        {
            accelerator = accelerate(context);
            return new GpuDevice(context, accelerator, kind, gemmFactory);
        }
        catch
        {
            accelerator?.Dispose();
            context.Dispose();
            throw;
        }
    }

    private static Context CudaContext()
    {
        // ILGPU decides once per process whether the CUDA driver loads; make libcuda.so.1 findable before it looks.
        Native.CudaDriver.EnsureResolvable();
        return Context.Create(b => b.Cuda().EnableAlgorithms());
    }

    private static CudaAccelerator CudaAccelerator(Context context, int ordinal)
    {
        var devices = context.GetCudaDevices();
        if (ordinal < 0 || ordinal >= devices.Count)
        {
            throw new NotSupportedException(devices.Count == 0
                ? "no CUDA device is available (ILGPU found none: no NVIDIA driver, or no GPU)"
                : $"CUDA device {ordinal} does not exist; this machine has {devices.Count}");
        }
        return context.CreateCudaAccelerator(ordinal);
    }

    /// <summary>Why cuBLAS is not in use on a CUDA device (null when it is, or on the CPU accelerator).</summary>
    public string? GemmFallbackReason { get; private set; }

    /// <summary>Whether this partition's cuBLAS handle is capped to its SMs (cublasSetSmCountTarget).</summary>
    public bool GemmSmCapped { get; private set; }

    /// <summary>cuBLAS on a CUDA device when the library loads; otherwise null, with the reason kept for logs.</summary>
    public static IGemm? PreferCuBlas(GpuDevice device)
    {
        if (device.Accelerator is not CudaAccelerator cuda || device.Stream is not CudaStream stream)
        {
            return null;
        }
        try
        {
            var gemm = new CuBlasGemm(cuda, stream);
            // A cuBLAS without cublasSetSmCountTarget still computes correctly, sized for the whole GPU. A green context
            // has fewer SMs than the device too: its GEMMs are sized for them.
            device.GemmSmCapped = (device.SmPercent < 100 || device.Green is not null) && gemm.SetSmCountTarget(device.SmCount);
            return gemm;
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
        var groups = (int)Math.Clamp((elements + Limits.GroupSize - 1) / Limits.GroupSize, 1, Limits.MaxGroups);
        return new KernelConfig(groups, Limits.GroupSize);
    }

    /// <summary>
    /// A launch with one thread group per row (grid-stride over rows), for the row kernels: a power-of-two group
    /// no larger than the row (so few threads idle) and no larger than the kernels' shared memory.
    /// </summary>
    internal KernelConfig LaunchRows(long rows, int cols)
    {
        var limit = Math.Min(global::OrleansServe.Engine.Gpu.Kernels.NeuralKernels.MaxRowGroup, Kind == GpuDeviceKind.IlgpuCpu ? Limits.GroupSize : Accelerator.MaxNumThreadsPerGroup);
        var group = 1;
        while (group * 2 <= limit && group * 2 <= Math.Max(cols, Accelerator.WarpSize))
        {
            group *= 2;
        }
        var groups = (int)Math.Clamp(rows, 1, Limits.MaxRowGroups);
        return new KernelConfig(groups, group);
    }

    /// <summary>Waits for all work enqueued on the stream.</summary>
    public void Synchronize() => Stream.Synchronize();

    /// <summary>Disposes the GEMM and stream; the accelerator too unless this is a partition or on a green context.</summary>
    public void Dispose()
    {
        // Each step runs even when one before it throws (a failed device may fail to tear down); the first failure escapes.
        try
        {
            Gemm.Dispose();
        }
        finally
        {
            try
            {
                Stream.Dispose();
            }
            finally
            {
                if (ownsAccelerator)
                {
                    try
                    {
                        Accelerator.Dispose();
                    }
                    finally
                    {
                        context.Dispose();
                    }
                }
            }
        }
    }
}

/// <summary>The launch shape limits of a device or gpulet partition.</summary>
/// <param name="GroupSize">Threads per group of grid-stride launches.</param>
/// <param name="MaxGroups">Most groups of a grid-stride launch.</param>
/// <param name="MaxRowGroups">Most groups of a row launch (one group per row).</param>
public sealed record LaunchLimits(int GroupSize, int MaxGroups, int MaxRowGroups)
{
    /// <summary>These limits for a partition of <paramref name="smPercent"/>: each grid cap scaled, at least one group.</summary>
    public LaunchLimits Share(int smPercent) => this with
    {
        MaxGroups = Scale(MaxGroups, smPercent),
        MaxRowGroups = Scale(MaxRowGroups, smPercent),
    };

    private static int Scale(int groups, int smPercent) => Math.Max(1, (int)Math.Round(groups * smPercent / 100.0));
}

/// <summary>
/// A green context an accelerator runs in: the driver's SM group, its context handle, and how many SMs it has.
/// Made by <see cref="GpuDevice.CreateOnGreenContext"/>.
/// </summary>
public sealed class GreenContext
{
    // The accelerators and ILGPU contexts of green devices, which are never disposed: kept reachable so no finalizer
    // tears them down under the process (ILGPU would destroy a context it did not create).
    private static readonly List<object> KeptAlive = [];

    private GreenContext(IntPtr handle, IntPtr context, int smCount, int requested, int granularity)
    {
        Handle = handle;
        Context = context;
        SmCount = smCount;
        RequestedSmCount = requested;
        Granularity = granularity;
    }

    /// <summary>The CUgreenCtx.</summary>
    public IntPtr Handle { get; }

    /// <summary>The CUcontext that stands for it (cuCtxFromGreenCtx), now the accelerator's.</summary>
    public IntPtr Context { get; }

    /// <summary>SMs the driver gave the group.</summary>
    public int SmCount { get; }

    /// <summary>SMs asked for.</summary>
    public int RequestedSmCount { get; }

    /// <summary>The driver's SM granularity on this device (the smallest group it splits off).</summary>
    public int Granularity { get; }

    internal static GreenContext Adopt(Native.GreenContextApi api, CudaAccelerator accelerator, int ordinal, int smCount)
    {
        // Accelerator.NativePtr has a protected setter: ILGPU binds (cuCtxSetCurrent) whatever it holds.
        var setter = typeof(Accelerator).GetProperty(nameof(Accelerator.NativePtr))?.GetSetMethod(nonPublic: true)
            ?? throw new NotSupportedException("this ILGPU has no settable Accelerator.NativePtr; green contexts need ILGPU 1.5");
        var granularity = api.SplitGranularity(ordinal);
        var (handle, context, sms) = api.Create(ordinal, smCount);
        setter.Invoke(accelerator, [context]);
        // Other threads make it current when they bind the accelerator; this one has it bound already, so ILGPU would skip it.
        api.MakeCurrent(context);
        lock (KeptAlive)
        {
            KeptAlive.Add(accelerator);
            KeptAlive.Add(accelerator.Context);
        }
        return new GreenContext(handle, context, sms, smCount, granularity);
    }
}
