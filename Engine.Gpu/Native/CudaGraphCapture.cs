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

    private static readonly Lazy<GraphDriver> Driver = new(
        () => new GraphDriver(CudaDriverApi.Load().Export), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly GraphDriver api;
    private IntPtr graph;
    private IntPtr executable;

    private CudaGraphCapture(GraphDriver api, IntPtr graph, IntPtr executable)
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
    public static CudaGraphCapture Record(IntPtr stream, Action enqueue) => Record(Driver.Value, stream, enqueue);

    /// <summary>
    /// <see cref="Record(IntPtr, Action)"/> on a given driver binding. When <paramref name="enqueue"/> throws, the
    /// capture is ended, whatever it recorded is destroyed, and the enqueue's own exception is the one that escapes.
    /// </summary>
    internal static CudaGraphCapture Record(GraphDriver api, IntPtr stream, Action enqueue)
    {
        api.Check(api.BeginCapture(stream, ThreadLocalCapture), "cuStreamBeginCapture_v2");
        IntPtr captured = IntPtr.Zero;
        try
        {
            enqueue();
        }
        catch
        {
            // Ending the capture makes the stream usable again; its status is secondary to the enqueue's error.
            _ = api.EndCapture(stream, &captured);
            api.DestroyIfAny(captured);
            throw;
        }
        var ended = api.EndCapture(stream, &captured);
        if (ended != 0)
        {
            api.DestroyIfAny(captured);
            api.Check(ended, "cuStreamEndCapture");
        }
        IntPtr instance;
        var instantiated = api.Instantiate(&instance, captured, 0);
        if (instantiated != 0)
        {
            api.DestroyIfAny(captured);
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

    /// <summary>The graph entry points of the driver, bound by name (tests bind stand-ins).</summary>
    internal sealed class GraphDriver
    {
        public GraphDriver(Func<string, IntPtr> export)
        {
            IntPtr Export(string symbol) => export(symbol) is var address && address != IntPtr.Zero
                ? address
                : throw new InvalidOperationException($"the CUDA driver lacks {symbol} (CUDA graphs need driver API 11.4 or later)");
            BeginCapture = (delegate* unmanaged<IntPtr, int, int>)Export("cuStreamBeginCapture_v2");
            EndCapture = (delegate* unmanaged<IntPtr, IntPtr*, int>)Export("cuStreamEndCapture");
            Instantiate = (delegate* unmanaged<IntPtr*, IntPtr, ulong, int>)Export("cuGraphInstantiateWithFlags");
            Launch = (delegate* unmanaged<IntPtr, IntPtr, int>)Export("cuGraphLaunch");
            DestroyExecutable = (delegate* unmanaged<IntPtr, int>)Export("cuGraphExecDestroy");
            DestroyGraph = (delegate* unmanaged<IntPtr, int>)Export("cuGraphDestroy");
            errorName = (delegate* unmanaged<int, byte**, int>)Export("cuGetErrorName");
        }

        public delegate* unmanaged<IntPtr, int, int> BeginCapture { get; }

        public delegate* unmanaged<IntPtr, IntPtr*, int> EndCapture { get; }

        public delegate* unmanaged<IntPtr*, IntPtr, ulong, int> Instantiate { get; }

        public delegate* unmanaged<IntPtr, IntPtr, int> Launch { get; }

        public delegate* unmanaged<IntPtr, int> DestroyExecutable { get; }

        public delegate* unmanaged<IntPtr, int> DestroyGraph { get; }

        private readonly delegate* unmanaged<int, byte**, int> errorName;

        public void DestroyIfAny(IntPtr graph)
        {
            if (graph != IntPtr.Zero)
            {
                _ = DestroyGraph(graph);
            }
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
