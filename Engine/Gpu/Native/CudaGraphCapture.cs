using System.Runtime.InteropServices;

namespace OrleansServe.Engine.Gpu.Native;

/// <summary>
/// A forward pass recorded once with CUDA stream capture and replayed as one graph launch, which removes the
/// per-kernel launch cost that dominates small batches. Uses the driver API directly (ILGPU does not expose
/// graphs): cuStreamBeginCapture_v2, cuStreamEndCapture, cuGraphInstantiateWithFlags, cuGraphLaunch.
/// Create, launch and dispose on the device thread, with the accelerator's context current.
/// </summary>
public sealed unsafe class CudaGraphCapture : IDisposable
{
    /// <summary>CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: only this thread's unsafe calls break the capture.</summary>
    private const int ThreadLocalCapture = 1;

    private static readonly Lazy<Api> Driver = new(Api.Load, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly Api api;
    private IntPtr graph;
    private IntPtr executable;

    private CudaGraphCapture(Api api, IntPtr graph, IntPtr executable)
    {
        this.api = api;
        this.graph = graph;
        this.executable = executable;
    }

    /// <summary>
    /// Records everything <paramref name="enqueue"/> puts on <paramref name="stream"/> (nothing runs while it
    /// records) and instantiates it. Throws <see cref="InvalidOperationException"/> naming the failing call; the
    /// stream is left out of capture mode either way.
    /// </summary>
    public static CudaGraphCapture Record(IntPtr stream, Action enqueue)
    {
        var api = Driver.Value;
        api.Check(api.BeginCapture(stream, ThreadLocalCapture), "cuStreamBeginCapture_v2");
        IntPtr captured = IntPtr.Zero;
        try
        {
            enqueue();
        }
        finally
        {
            // Ending the capture also when enqueueing threw, so the stream is usable again.
            var status = api.EndCapture(stream, &captured);
            if (status != 0 && captured == IntPtr.Zero)
            {
                api.Check(status, "cuStreamEndCapture");
            }
        }
        IntPtr instance;
        var instantiated = api.Instantiate(&instance, captured, 0);
        if (instantiated != 0)
        {
            api.DestroyGraph(captured);
            api.Check(instantiated, "cuGraphInstantiateWithFlags");
        }
        return new CudaGraphCapture(api, captured, instance);
    }

    /// <summary>Enqueues the recorded work on a stream.</summary>
    public void Launch(IntPtr stream) => api.Check(api.Launch(executable, stream), "cuGraphLaunch");

    public void Dispose()
    {
        if (executable != IntPtr.Zero)
        {
            api.DestroyExecutable(executable);
            executable = IntPtr.Zero;
        }
        if (graph != IntPtr.Zero)
        {
            api.DestroyGraph(graph);
            graph = IntPtr.Zero;
        }
    }

    private sealed class Api
    {
        public delegate* unmanaged<IntPtr, int, int> BeginCapture;
        public delegate* unmanaged<IntPtr, IntPtr*, int> EndCapture;
        public delegate* unmanaged<IntPtr*, IntPtr, ulong, int> Instantiate;
        public delegate* unmanaged<IntPtr, IntPtr, int> Launch;
        public delegate* unmanaged<IntPtr, int> DestroyExecutable;
        public delegate* unmanaged<IntPtr, int> DestroyGraph;
        private delegate* unmanaged<int, byte**, int> errorName;

        public static Api Load()
        {
            var name = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
            if (!NativeLibrary.TryLoad(name, out var handle))
            {
                throw new InvalidOperationException($"the CUDA driver library ({name}) does not load");
            }
            IntPtr Export(string symbol) => NativeLibrary.TryGetExport(handle, symbol, out var address)
                ? address
                : throw new InvalidOperationException($"the CUDA driver lacks {symbol} (CUDA graphs need driver API 11.4 or later)");
            return new Api
            {
                BeginCapture = (delegate* unmanaged<IntPtr, int, int>)Export("cuStreamBeginCapture_v2"),
                EndCapture = (delegate* unmanaged<IntPtr, IntPtr*, int>)Export("cuStreamEndCapture"),
                Instantiate = (delegate* unmanaged<IntPtr*, IntPtr, ulong, int>)Export("cuGraphInstantiateWithFlags"),
                Launch = (delegate* unmanaged<IntPtr, IntPtr, int>)Export("cuGraphLaunch"),
                DestroyExecutable = (delegate* unmanaged<IntPtr, int>)Export("cuGraphExecDestroy"),
                DestroyGraph = (delegate* unmanaged<IntPtr, int>)Export("cuGraphDestroy"),
                errorName = (delegate* unmanaged<int, byte**, int>)Export("cuGetErrorName"),
            };
        }

        public void Check(int status, string call)
        {
            if (status == 0)
            {
                return;
            }
            byte* text = null;
            var known = errorName(status, &text) == 0 && text != null;
            throw new InvalidOperationException($"{call} failed: {(known ? Marshal.PtrToStringAnsi((IntPtr)text) : "CUDA error")} ({status})");
        }
    }
}
