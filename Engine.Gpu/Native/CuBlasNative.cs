using System.Runtime.InteropServices;

namespace OrleansServe.Engine.Gpu.Native;

/// <summary>
/// The cuBLAS entry points this engine calls, bound by name from a loaded library through unmanaged function
/// pointers (no DllImport, so any soname the probe found works). Every call is checked and throws
/// <see cref="CuBlasException"/> naming the status. cublasSetSmCountTarget/GetSmCountTarget and cublasGetProperty
/// are optional: a library without them still binds, and <see cref="SupportsSmCountTarget"/> says so.
/// Calls that touch a handle need the handle's CUDA context current on the calling thread.
/// </summary>
public sealed unsafe class CuBlasNative
{
    private static readonly Lazy<CuBlasNative> Shared = new(
        () => new CuBlasNative(CudaLibraries.LoadCuBlas()), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly delegate* unmanaged<IntPtr*, CuBlasStatus> create;
    private readonly delegate* unmanaged<IntPtr, CuBlasStatus> destroy;
    private readonly delegate* unmanaged<IntPtr, IntPtr, CuBlasStatus> setStream;
    private readonly delegate* unmanaged<IntPtr, int*, CuBlasStatus> getVersion;
    private readonly delegate* unmanaged<IntPtr, CuBlasMathMode, CuBlasStatus> setMathMode;
    private readonly delegate* unmanaged<IntPtr, CuBlasOperation, CuBlasOperation, int, int, int, float*, IntPtr, int, IntPtr, int, float*, IntPtr, int, CuBlasStatus> sgemm;
    private readonly delegate* unmanaged<IntPtr, CuBlasOperation, CuBlasOperation, int, int, int, float*, IntPtr, int, long, IntPtr, int, long, float*, IntPtr, int, long, int, CuBlasStatus> sgemmStridedBatched;
    private readonly delegate* unmanaged<int, int*, CuBlasStatus> getProperty;
    private readonly delegate* unmanaged<IntPtr, int, CuBlasStatus> setSmCountTarget;
    private readonly delegate* unmanaged<IntPtr, int*, CuBlasStatus> getSmCountTarget;
    private readonly delegate* unmanaged<IntPtr, IntPtr, nuint, CuBlasStatus> setWorkspace;

    /// <summary>
    /// Binds the entry points of <paramref name="library"/>. Throws <see cref="EntryPointNotFoundException"/>
    /// naming every required export the library lacks.
    /// </summary>
    public CuBlasNative(LoadedNativeLibrary library)
    {
        Library = library;
        var missing = new List<string>();
        IntPtr Required(string name)
        {
            if (NativeLibrary.TryGetExport(library.Handle, name, out var address))
            {
                return address;
            }
            missing.Add(name);
            return IntPtr.Zero;
        }
        IntPtr Optional(string name) => NativeLibrary.TryGetExport(library.Handle, name, out var address) ? address : IntPtr.Zero;

        create = (delegate* unmanaged<IntPtr*, CuBlasStatus>)Required("cublasCreate_v2");
        destroy = (delegate* unmanaged<IntPtr, CuBlasStatus>)Required("cublasDestroy_v2");
        setStream = (delegate* unmanaged<IntPtr, IntPtr, CuBlasStatus>)Required("cublasSetStream_v2");
        getVersion = (delegate* unmanaged<IntPtr, int*, CuBlasStatus>)Required("cublasGetVersion_v2");
        setMathMode = (delegate* unmanaged<IntPtr, CuBlasMathMode, CuBlasStatus>)Required("cublasSetMathMode");
        sgemm = (delegate* unmanaged<IntPtr, CuBlasOperation, CuBlasOperation, int, int, int, float*, IntPtr, int, IntPtr, int, float*, IntPtr, int, CuBlasStatus>)
            Required("cublasSgemm_v2");
        sgemmStridedBatched = (delegate* unmanaged<IntPtr, CuBlasOperation, CuBlasOperation, int, int, int, float*, IntPtr, int, long, IntPtr, int, long, float*, IntPtr, int, long, int, CuBlasStatus>)
            Required("cublasSgemmStridedBatched");
        getProperty = (delegate* unmanaged<int, int*, CuBlasStatus>)Optional("cublasGetProperty");
        setSmCountTarget = (delegate* unmanaged<IntPtr, int, CuBlasStatus>)Optional("cublasSetSmCountTarget");
        getSmCountTarget = (delegate* unmanaged<IntPtr, int*, CuBlasStatus>)Optional("cublasGetSmCountTarget");
        setWorkspace = (delegate* unmanaged<IntPtr, IntPtr, nuint, CuBlasStatus>)Optional("cublasSetWorkspace_v2");

        if (missing.Count > 0)
        {
            throw new EntryPointNotFoundException(
                $"{library.Path} is not a usable cuBLAS: it lacks {string.Join(", ", missing)}");
        }
    }

    /// <summary>
    /// The process's cuBLAS, found by <see cref="CudaLibraries.LoadCuBlas"/> on first use. A failure is kept too:
    /// the machine's libraries do not change while the process runs.
    /// </summary>
    public static CuBlasNative Load() => Shared.Value;

    /// <summary>The library bound.</summary>
    public LoadedNativeLibrary Library { get; }

    /// <summary>Whether the library takes a workspace from its caller (cublasSetWorkspace_v2, CUDA 11.2 and later).</summary>
    public bool SupportsWorkspace => setWorkspace != null;

    /// <summary>Whether the library can cap the SMs its kernels are sized for (cublasSetSmCountTarget).</summary>
    public bool SupportsSmCountTarget => setSmCountTarget != null && getSmCountTarget != null;

    /// <summary>
    /// The library's version as "major.minor.patch" (cublasGetProperty, no handle needed); the major version from
    /// the file name, or null, when the library does not export it.
    /// </summary>
    public string? LibraryVersion
    {
        get
        {
            if (getProperty == null)
            {
                return Library.MajorVersionFromName?.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            // libraryPropertyType: MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2.
            int major, minor, patch;
            CuBlasException.ThrowIfFailed(getProperty(0, &major), "cublasGetProperty");
            CuBlasException.ThrowIfFailed(getProperty(1, &minor), "cublasGetProperty");
            CuBlasException.ThrowIfFailed(getProperty(2, &patch), "cublasGetProperty");
            return $"{major}.{minor}.{patch}";
        }
    }

    /// <summary>cublasCreate_v2: a handle bound to the current CUDA context.</summary>
    public IntPtr CreateHandle()
    {
        IntPtr handle;
        CuBlasException.ThrowIfFailed(create(&handle), "cublasCreate_v2");
        return handle;
    }

    /// <summary>cublasDestroy_v2.</summary>
    public void DestroyHandle(IntPtr handle) => CuBlasException.ThrowIfFailed(destroy(handle), "cublasDestroy_v2");

    /// <summary>cublasSetStream_v2: later calls on the handle are enqueued on <paramref name="stream"/> (a CUstream).</summary>
    public void SetStream(IntPtr handle, IntPtr stream) =>
        CuBlasException.ThrowIfFailed(setStream(handle, stream), "cublasSetStream_v2");

    /// <summary>cublasGetVersion_v2: the version as one number, major·10000 + minor·100 + patch.</summary>
    public int GetVersion(IntPtr handle)
    {
        int version;
        CuBlasException.ThrowIfFailed(getVersion(handle, &version), "cublasGetVersion_v2");
        return version;
    }

    /// <summary>Formats a cublasGetVersion number (130100 as "13.1.0").</summary>
    public static string FormatVersion(int version) => $"{version / 10000}.{version / 100 % 100}.{version % 100}";

    /// <summary>
    /// cublasSetWorkspace_v2: the handle's kernels use this device memory instead of allocating their own, which a
    /// CUDA graph capture needs (no allocation may happen while recording). Call after <see cref="SetStream"/>,
    /// which resets the workspace to cuBLAS's own pool.
    /// </summary>
    public void SetWorkspace(IntPtr handle, IntPtr workspace, long bytes)
    {
        if (!SupportsWorkspace)
        {
            throw new NotSupportedException($"{Library.Path} does not export cublasSetWorkspace_v2");
        }
        CuBlasException.ThrowIfFailed(setWorkspace(handle, workspace, checked((nuint)bytes)), "cublasSetWorkspace_v2");
    }

    /// <summary>cublasSetMathMode.</summary>
    public void SetMathMode(IntPtr handle, CuBlasMathMode mode) =>
        CuBlasException.ThrowIfFailed(setMathMode(handle, mode), "cublasSetMathMode");

    /// <summary>cublasSgemm_v2 on device pointers, alpha and beta passed from the host.</summary>
    public void Sgemm(
        IntPtr handle, CuBlasOperation transA, CuBlasOperation transB, int m, int n, int k,
        float alpha, IntPtr a, int lda, IntPtr b, int ldb, float beta, IntPtr c, int ldc) =>
        CuBlasException.ThrowIfFailed(
            sgemm(handle, transA, transB, m, n, k, &alpha, a, lda, b, ldb, &beta, c, ldc), "cublasSgemm_v2");

    /// <summary>cublasSgemmStridedBatched on device pointers, alpha and beta passed from the host.</summary>
    public void SgemmStridedBatched(
        IntPtr handle, CuBlasOperation transA, CuBlasOperation transB, int m, int n, int k,
        float alpha, IntPtr a, int lda, long strideA, IntPtr b, int ldb, long strideB,
        float beta, IntPtr c, int ldc, long strideC, int batchCount) =>
        CuBlasException.ThrowIfFailed(
            sgemmStridedBatched(handle, transA, transB, m, n, k, &alpha, a, lda, strideA, b, ldb, strideB, &beta, c, ldc, strideC, batchCount),
            "cublasSgemmStridedBatched");

    /// <summary>
    /// cublasSetSmCountTarget: size later kernels on the handle for <paramref name="smCount"/> SMs (0 restores the
    /// device's count), so a gpulet's GEMMs do not plan for SMs its partition does not have.
    /// Throws <see cref="NotSupportedException"/> when <see cref="SupportsSmCountTarget"/> is false.
    /// </summary>
    public void SetSmCountTarget(IntPtr handle, int smCount)
    {
        ThrowIfNoSmCountTarget();
        CuBlasException.ThrowIfFailed(setSmCountTarget(handle, smCount), "cublasSetSmCountTarget");
    }

    /// <summary>cublasGetSmCountTarget: the cap set on the handle, 0 when none.</summary>
    public int GetSmCountTarget(IntPtr handle)
    {
        ThrowIfNoSmCountTarget();
        int smCount;
        CuBlasException.ThrowIfFailed(getSmCountTarget(handle, &smCount), "cublasGetSmCountTarget");
        return smCount;
    }

    private void ThrowIfNoSmCountTarget()
    {
        if (!SupportsSmCountTarget)
        {
            throw new NotSupportedException($"{Library.Path} does not export cublasSetSmCountTarget/cublasGetSmCountTarget");
        }
    }
}
