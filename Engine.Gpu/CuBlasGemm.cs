using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using OrleansServe.Engine.Gpu.Native;
using CuBlasMathMode = OrleansServe.Engine.Gpu.Native.CuBlasMathMode;

namespace OrleansServe.Engine.Gpu;

/// <summary>How a <see cref="CuBlasGemm"/> computes.</summary>
public sealed record CuBlasGemmOptions
{
    /// <summary>
    /// Lets single-precision GEMMs round their inputs to TF32 on tensor cores (CUBLAS_TF32_TENSOR_OP_MATH).
    /// Off by default: results then drift past the 1e-4 parity the engine is checked at.
    /// </summary>
    public bool AllowTf32 { get; init; }

    /// <summary>SMs to size kernels for from the start (a gpulet's partition); null leaves the device's count.</summary>
    public int? SmCountTarget { get; init; }

    /// <summary>
    /// Bytes of device memory given to the handle as its workspace; null picks cuBLAS's recommendation for the device
    /// (32 MiB on Hopper and later, 4 MiB before), 0 leaves cuBLAS to its own pool.
    /// </summary>
    public long? WorkspaceBytes { get; init; }

    /// <summary>cuBLAS's recommended workspace for a device of compute capability <paramref name="major"/>.x.</summary>
    public static long RecommendedWorkspaceBytes(int major) => major >= 9 ? 32L << 20 : 4L << 20;
}

/// <summary>
/// <see cref="IGemm"/> on cuBLAS, for one CUDA accelerator and one of its streams. Row-major shapes are mapped to
/// column-major calls by <see cref="ColumnMajorGemm"/>; a batch of one is a plain Sgemm, more a strided-batched one.
/// Like every <see cref="IGemm"/>, it is used from the accelerator's device thread; it binds the accelerator's
/// context to that thread on each call, as cuBLAS needs it current.
/// </summary>
public sealed class CuBlasGemm : IGemm
{
    private readonly CudaAccelerator accelerator;
    private readonly CuBlasNative native;
    private readonly MemoryBuffer1D<byte, Stride1D.Dense>? workspace;
    private IntPtr handle;

    /// <summary>
    /// Creates a cuBLAS handle on <paramref name="accelerator"/> that enqueues on <paramref name="stream"/>
    /// (the accelerator's default stream when null). Throws <see cref="DllNotFoundException"/> naming every
    /// place probed when cuBLAS is not on this machine.
    /// </summary>
    /// <param name="accelerator">The CUDA accelerator whose memory the views live in.</param>
    /// <param name="stream">The stream GEMMs are enqueued on; must belong to <paramref name="accelerator"/>.</param>
    /// <param name="options">Math mode and SM cap; defaults when null.</param>
    /// <param name="library">The bound cuBLAS; the process's one (<see cref="CuBlasNative.Load"/>) when null.</param>
    public CuBlasGemm(CudaAccelerator accelerator, CudaStream? stream = null, CuBlasGemmOptions? options = null, CuBlasNative? library = null)
    {
        ArgumentNullException.ThrowIfNull(accelerator);
        stream ??= accelerator.DefaultStream as CudaStream
            ?? throw new ArgumentException("the accelerator's default stream is not a CUDA stream", nameof(stream));
        if (!ReferenceEquals(stream.Accelerator, accelerator))
        {
            throw new ArgumentException("the stream belongs to another accelerator", nameof(stream));
        }
        options ??= new CuBlasGemmOptions();
        this.accelerator = accelerator;
        Stream = stream;
        native = library ?? CuBlasNative.Load();

        using var binding = accelerator.BindScoped();
        handle = native.CreateHandle();
        try
        {
            native.SetStream(handle, stream.StreamPtr);
            var workspaceBytes = options.WorkspaceBytes ?? CuBlasGemmOptions.RecommendedWorkspaceBytes(accelerator.Architecture.Major);
            if (workspaceBytes > 0 && native.SupportsWorkspace)
            {
                // After SetStream, which puts the handle back on cuBLAS's own pool.
                workspace = accelerator.Allocate1D<byte>(workspaceBytes);
                native.SetWorkspace(handle, workspace.NativePtr, workspaceBytes);
                WorkspaceBytes = workspaceBytes;
            }
            native.SetMathMode(handle, options.AllowTf32 ? CuBlasMathMode.Tf32TensorOp : CuBlasMathMode.Default);
            Version = CuBlasNative.FormatVersion(native.GetVersion(handle));
            if (options.SmCountTarget is { } smCount && !SetSmCountTarget(smCount))
            {
                throw new NotSupportedException($"{native.Library.Path} cannot cap SMs (no cublasSetSmCountTarget)");
            }
        }
        catch
        {
            native.DestroyHandle(handle);
            handle = IntPtr.Zero;
            workspace?.Dispose();
            throw;
        }
        AllowTf32 = options.AllowTf32;
        Name = $"cublas {Version}{(AllowTf32 ? " tf32" : "")} ({native.Library.Path})";
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The cuBLAS version the handle reports, "major.minor.patch".</summary>
    public string Version { get; }

    /// <summary>Bytes of the workspace the handle was given; 0 when it uses cuBLAS's own pool.</summary>
    public long WorkspaceBytes { get; }

    /// <summary>Whether TF32 tensor-op math is on.</summary>
    public bool AllowTf32 { get; }

    /// <summary>The stream GEMMs are enqueued on.</summary>
    public CudaStream Stream { get; }

    /// <summary>Whether this cuBLAS can cap the SMs it sizes kernels for.</summary>
    public bool SupportsSmCountTarget => native.SupportsSmCountTarget;

    /// <summary>
    /// Sizes later GEMMs for <paramref name="smCount"/> SMs (0 restores the device's count), so a gpulet's GEMMs
    /// plan for its partition rather than the whole GPU. Returns false, changing nothing, when this cuBLAS lacks
    /// the call; that is reported, not thrown, because an uncapped GEMM still computes the right result.
    /// </summary>
    public bool SetSmCountTarget(int smCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(smCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(smCount, accelerator.NumMultiprocessors);
        ObjectDisposedException.ThrowIf(handle == IntPtr.Zero, this);
        if (!native.SupportsSmCountTarget)
        {
            return false;
        }
        accelerator.Bind();
        native.SetSmCountTarget(handle, smCount);
        return true;
    }

    /// <summary>The SM cap on the handle (0 when none), or null when this cuBLAS lacks the call.</summary>
    public int? SmCountTarget
    {
        get
        {
            ObjectDisposedException.ThrowIf(handle == IntPtr.Zero, this);
            if (!native.SupportsSmCountTarget)
            {
                return null;
            }
            accelerator.Bind();
            return native.GetSmCountTarget(handle);
        }
    }

    /// <inheritdoc />
    public void Run(in GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c)
    {
        ObjectDisposedException.ThrowIf(handle == IntPtr.Zero, this);
        shape.Validate(a.Length, b.Length, c.Length);
        if (shape.M == 0 || shape.N == 0)
        {
            return;
        }

        var call = ColumnMajorGemm.FromRowMajor(shape);
        // cuBLAS's first operand is the caller's B and its second the caller's A (see ColumnMajorGemm).
        var first = DevicePointer(b, nameof(b));
        var second = DevicePointer(a, nameof(a));
        var output = DevicePointer(c, nameof(c));

        accelerator.Bind();
        if (call.Batch == 1)
        {
            native.Sgemm(handle, call.TransA, call.TransB, call.M, call.N, call.K,
                call.Alpha, first, call.Lda, second, call.Ldb, call.Beta, output, call.Ldc);
        }
        else
        {
            native.SgemmStridedBatched(handle, call.TransA, call.TransB, call.M, call.N, call.K,
                call.Alpha, first, call.Lda, call.StrideA, second, call.Ldb, call.StrideB,
                call.Beta, output, call.Ldc, call.StrideC, call.Batch);
        }
    }

    /// <summary>Destroys the handle. Once the accelerator is gone its context took the handle's memory with it.</summary>
    public void Dispose()
    {
        if (handle == IntPtr.Zero)
        {
            return;
        }
        var disposing = handle;
        handle = IntPtr.Zero;
        if (!accelerator.IsDisposed)
        {
            using var binding = accelerator.BindScoped();
            native.DestroyHandle(disposing);
            workspace?.Dispose();
        }
    }

    // The device address of the view's first element; an empty operand (K = 0) is never read, so it has none.
    private IntPtr DevicePointer(ArrayView<float> view, string name)
    {
        if (view.Length == 0)
        {
            return IntPtr.Zero;
        }
        if (!view.IsValid || !ReferenceEquals(view.GetAccelerator(), accelerator))
        {
            throw new ArgumentException("the view is not in this accelerator's memory", name);
        }
        return view.LoadEffectiveAddressAsPtr();
    }
}
