using System.Runtime.InteropServices;

namespace OrleansServe.Engine.Gpu.Native;

/// <summary>
/// The CUDA driver entry points swap-in needs and ILGPU does not expose: events, cross-stream waits, asynchronous
/// copies from pinned host memory and inside device memory, page-locking host memory, and free device memory.
/// Bound by name from the driver library through unmanaged function pointers, like <see cref="CudaGraphCapture"/>.
/// Every call is checked and throws <see cref="InvalidOperationException"/> naming the call and the driver's error.
/// Calls need the accelerator's context current on the calling thread (ILGPU's <c>Accelerator.Bind</c>).
/// </summary>
public sealed unsafe class CudaDriverApi
{
    /// <summary>CUDA_ERROR_NOT_READY: an event or stream has work still to finish.</summary>
    public const int NotReady = 600;

    /// <summary>CU_EVENT_DISABLE_TIMING: events used only to order streams, which makes them cheaper.</summary>
    private const uint DisableTiming = 2;

    /// <summary>CU_EVENT_BLOCKING_SYNC: a host thread in cuEventSynchronize sleeps instead of spinning a core.</summary>
    private const uint BlockingSync = 1;

    /// <summary>
    /// Statuses of cuMemHostUnregister that mean the range is no longer registered: success, "not registered", and
    /// the context or driver already gone (its registrations went with it).
    /// </summary>
    public static readonly IReadOnlySet<int> ReleasedStatuses = new HashSet<int>
    {
        0,
        3, // CUDA_ERROR_NOT_INITIALIZED
        4, // CUDA_ERROR_DEINITIALIZED
        201, // CUDA_ERROR_INVALID_CONTEXT
        709, // CUDA_ERROR_CONTEXT_IS_DESTROYED
        713, // CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED
    };

    /// <summary>The entry points every driver since CUDA 4 exports; binding fails when any is missing.</summary>
    public static readonly IReadOnlyList<string> RequiredExports =
    [
        "cuEventCreate", "cuEventRecord", "cuEventQuery", "cuEventSynchronize", "cuEventDestroy_v2",
        "cuStreamWaitEvent", "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoDAsync_v2", "cuMemHostRegister_v2",
        "cuMemHostUnregister", "cuMemGetInfo_v2", "cuGetErrorName",
    ];

    /// <summary>The green-context entry points (CUDA 12.4 and later) the benchmark's green-context device needs.</summary>
    public static readonly IReadOnlyList<string> GreenContextExports = GreenContextApi.Exports;

    private static readonly Lazy<CudaDriverApi> Shared = new(
        () => Bind(SystemNativeLibraryHost.Instance, NativeExport), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly delegate* unmanaged<IntPtr*, uint, int> eventCreate;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int> eventRecord;
    private readonly delegate* unmanaged<IntPtr, int> eventQuery;
    private readonly delegate* unmanaged<IntPtr, int> eventSynchronize;
    private readonly delegate* unmanaged<IntPtr, int> eventDestroy;
    private readonly delegate* unmanaged<IntPtr, IntPtr, uint, int> streamWaitEvent;
    private readonly delegate* unmanaged<ulong, IntPtr, nuint, IntPtr, int> memcpyHtoDAsync;
    private readonly delegate* unmanaged<ulong, ulong, nuint, IntPtr, int> memcpyDtoDAsync;
    private readonly delegate* unmanaged<IntPtr, nuint, uint, int> memHostRegister;
    private readonly delegate* unmanaged<IntPtr, int> memHostUnregister;
    private readonly delegate* unmanaged<nuint*, nuint*, int> memGetInfo;
    private readonly delegate* unmanaged<int, byte**, int> errorName;
    private readonly Func<string, IntPtr> export;

    /// <summary>
    /// Binds the driver's entry points through <paramref name="export"/> (which returns zero for a missing name).
    /// Throws <see cref="EntryPointNotFoundException"/> naming every required export the driver lacks.
    /// </summary>
    /// <param name="library">The driver library's name or path, for messages.</param>
    /// <param name="export">Looks an entry point up by name.</param>
    public CudaDriverApi(string library, Func<string, IntPtr> export)
    {
        Library = library;
        this.export = export;
        var missing = new List<string>();
        IntPtr Required(string name)
        {
            var address = export(name);
            if (address == IntPtr.Zero)
            {
                missing.Add(name);
            }
            return address;
        }
        eventCreate = (delegate* unmanaged<IntPtr*, uint, int>)Required("cuEventCreate");
        eventRecord = (delegate* unmanaged<IntPtr, IntPtr, int>)Required("cuEventRecord");
        eventQuery = (delegate* unmanaged<IntPtr, int>)Required("cuEventQuery");
        eventSynchronize = (delegate* unmanaged<IntPtr, int>)Required("cuEventSynchronize");
        eventDestroy = (delegate* unmanaged<IntPtr, int>)Required("cuEventDestroy_v2");
        streamWaitEvent = (delegate* unmanaged<IntPtr, IntPtr, uint, int>)Required("cuStreamWaitEvent");
        memcpyHtoDAsync = (delegate* unmanaged<ulong, IntPtr, nuint, IntPtr, int>)Required("cuMemcpyHtoDAsync_v2");
        memcpyDtoDAsync = (delegate* unmanaged<ulong, ulong, nuint, IntPtr, int>)Required("cuMemcpyDtoDAsync_v2");
        memHostRegister = (delegate* unmanaged<IntPtr, nuint, uint, int>)Required("cuMemHostRegister_v2");
        memHostUnregister = (delegate* unmanaged<IntPtr, int>)Required("cuMemHostUnregister");
        memGetInfo = (delegate* unmanaged<nuint*, nuint*, int>)Required("cuMemGetInfo_v2");
        errorName = (delegate* unmanaged<int, byte**, int>)Required("cuGetErrorName");
        if (missing.Count > 0)
        {
            throw new EntryPointNotFoundException(
                $"the CUDA driver {library} lacks {string.Join(", ", missing)} (swap-in needs driver API 4.0 or later)");
        }
        MissingGreenContextExports = [.. GreenContextExports.Where(name => export(name) == IntPtr.Zero)];
    }

    /// <summary>
    /// The process's driver binding, made on first use. Throws <see cref="DllNotFoundException"/> naming every
    /// library tried when no driver loads, or <see cref="EntryPointNotFoundException"/> for a driver too old.
    /// The outcome is kept: the machine's driver does not change while the process runs.
    /// </summary>
    public static CudaDriverApi Load() => Shared.Value;

    /// <summary>
    /// Loads the driver on <paramref name="host"/> (libcuda.so.1 through the loader, then the driver folders of
    /// <see cref="CudaDriver.FallbackCandidates"/>, or nvcuda.dll) and binds it.
    /// </summary>
    /// <param name="host">The machine.</param>
    /// <param name="export">Looks an entry point up in a loaded library; zero when missing.</param>
    public static CudaDriverApi Bind(INativeLibraryHost host, Func<IntPtr, string, IntPtr> export)
    {
        string[] names = host.IsWindows
            ? ["nvcuda.dll"]
            : [.. CudaDriver.FallbackCandidates(CudaDriver.IlgpuLinuxLibraryName, isLinux: true)];
        var failures = new List<string>();
        foreach (var name in names)
        {
            if (host.TryLoad(name, out var handle, out var error))
            {
                return new CudaDriverApi(name, symbol => export(handle, symbol));
            }
            failures.Add($"{name}: {error}");
        }
        throw new DllNotFoundException($"the CUDA driver library does not load ({string.Join("; ", failures)})");
    }

    /// <summary>The library bound.</summary>
    public string Library { get; }

    /// <summary>Whether the driver exports every green-context call (CUDA 12.4 and later; see <see cref="GreenContextApi"/>).</summary>
    public bool HasGreenContexts => MissingGreenContextExports.Count == 0;

    /// <summary>The green-context calls this driver lacks, in <see cref="GreenContextExports"/> order; empty when it has all.</summary>
    public IReadOnlyList<string> MissingGreenContextExports { get; }

    /// <summary>An entry point of the bound driver by name; zero when it lacks it.</summary>
    public IntPtr Export(string name) => export(name);

    /// <summary>
    /// cuEventCreate with timing disabled. <paramref name="blockingSync"/> makes a host thread that waits on it in
    /// <see cref="SynchronizeEvent"/> sleep rather than spin (CU_EVENT_BLOCKING_SYNC).
    /// </summary>
    public IntPtr CreateEvent(bool blockingSync = false)
    {
        IntPtr handle;
        Check(eventCreate(&handle, DisableTiming | (blockingSync ? BlockingSync : 0)), "cuEventCreate");
        return handle;
    }

    /// <summary>cuEventRecord: the event completes when the stream's work enqueued so far has.</summary>
    public void RecordEvent(IntPtr cudaEvent, IntPtr stream) => Check(eventRecord(cudaEvent, stream), "cuEventRecord");

    /// <summary>cuEventQuery: true when the event completed, false while its work is pending.</summary>
    public bool QueryEvent(IntPtr cudaEvent)
    {
        var status = eventQuery(cudaEvent);
        if (status == NotReady)
        {
            return false;
        }
        Check(status, "cuEventQuery");
        return true;
    }

    /// <summary>cuEventSynchronize: blocks the calling thread until the event completes.</summary>
    public void SynchronizeEvent(IntPtr cudaEvent) => Check(eventSynchronize(cudaEvent), "cuEventSynchronize");

    /// <summary>cuEventDestroy_v2.</summary>
    public void DestroyEvent(IntPtr cudaEvent) => Check(eventDestroy(cudaEvent), "cuEventDestroy_v2");

    /// <summary>cuStreamWaitEvent: later work on <paramref name="stream"/> waits for the event, without blocking the host.</summary>
    public void StreamWaitEvent(IntPtr stream, IntPtr cudaEvent) => Check(streamWaitEvent(stream, cudaEvent, 0), "cuStreamWaitEvent");

    /// <summary>cuMemcpyHtoDAsync_v2: copies from (pinned) host memory on a stream.</summary>
    public void CopyHostToDeviceAsync(IntPtr destination, IntPtr source, long bytes, IntPtr stream) =>
        Check(memcpyHtoDAsync((ulong)destination, source, checked((nuint)bytes), stream), "cuMemcpyHtoDAsync_v2");

    /// <summary>cuMemcpyDtoDAsync_v2: copies inside device memory on a stream (the ranges must not overlap).</summary>
    public void CopyDeviceToDeviceAsync(IntPtr destination, IntPtr source, long bytes, IntPtr stream) =>
        Check(memcpyDtoDAsync((ulong)destination, (ulong)source, checked((nuint)bytes), stream), "cuMemcpyDtoDAsync_v2");

    /// <summary>CU_MEMHOSTREGISTER_PORTABLE: the registration holds for every context, not only the caller's.</summary>
    private const uint PortableRegistration = 0x01;

    /// <summary>
    /// cuMemHostRegister_v2, portable: page-locks host memory so copies from it run at full bus speed and
    /// asynchronously. Returns the driver's status (0 on success) rather than throwing, for callers that fall back.
    /// </summary>
    public int RegisterHostMemory(IntPtr pointer, long bytes) => memHostRegister(pointer, checked((nuint)bytes), PortableRegistration);

    /// <summary>
    /// cuMemHostUnregister. Returns the driver's status rather than throwing: a range already released (see
    /// <see cref="ReleasedStatuses"/>) is as good as unregistered, and a caller freeing memory must not fail on it.
    /// </summary>
    public int UnregisterHostMemory(IntPtr pointer) => memHostUnregister(pointer);

    /// <summary>cuMemGetInfo_v2: free and total bytes of the current context's device.</summary>
    public (long Free, long Total) GetMemoryInfo()
    {
        nuint free, total;
        Check(memGetInfo(&free, &total), "cuMemGetInfo_v2");
        return ((long)free, (long)total);
    }

    /// <summary>The driver's name for a status, e.g. "CUDA_ERROR_OUT_OF_MEMORY".</summary>
    public string ErrorName(int status)
    {
        byte* text = null;
        return errorName(status, &text) == 0 && text != null ? Marshal.PtrToStringAnsi((IntPtr)text) ?? "CUDA error" : "CUDA error";
    }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming <paramref name="call"/> when <paramref name="status"/> is not success.</summary>
    public void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{call} failed: {ErrorName(status)} ({status})");
        }
    }

    private static IntPtr NativeExport(IntPtr handle, string symbol) =>
        NativeLibrary.TryGetExport(handle, symbol, out var address) ? address : IntPtr.Zero;
}
