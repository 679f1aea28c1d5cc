using System.Runtime.InteropServices;

namespace OrleansServe.Engine.UnitTests.Gpu;

/// <summary>
/// Stand-ins for CUDA driver entry points, as real unmanaged function pointers, so the native bindings' own logic
/// (status handling, cleanup on failure) runs here without a GPU. Every call is recorded; statuses are set per test.
/// One test at a time: the tests that use it share a collection.
/// </summary>
internal static unsafe class FakeCudaDriver
{
    public static readonly Lock Gate = new();

    public static List<string> Calls { get; } = [];

    /// <summary>What cuMemHostUnregister returns.</summary>
    public static int UnregisterStatus { get; set; }

    /// <summary>What cuStreamEndCapture returns, and the graph it hands out (zero: none).</summary>
    public static int EndCaptureStatus { get; set; }

    public static IntPtr CapturedGraph { get; set; } = new(0x6a);

    /// <summary>What cuGraphInstantiateWithFlags returns.</summary>
    public static int InstantiateStatus { get; set; }

    public static void Reset()
    {
        Calls.Clear();
        UnregisterStatus = 0;
        EndCaptureStatus = 0;
        CapturedGraph = new IntPtr(0x6a);
        InstantiateStatus = 0;
    }

    /// <summary>The entry points this fake has; zero for any other name.</summary>
    public static IntPtr Export(string name) => name switch
    {
        "cuMemHostRegister_v2" => (IntPtr)(delegate* unmanaged<IntPtr, nuint, uint, int>)&MemHostRegister,
        "cuMemHostUnregister" => (IntPtr)(delegate* unmanaged<IntPtr, int>)&MemHostUnregister,
        "cuGetErrorName" => (IntPtr)(delegate* unmanaged<int, byte**, int>)&GetErrorName,
        "cuStreamBeginCapture_v2" => (IntPtr)(delegate* unmanaged<IntPtr, int, int>)&BeginCapture,
        "cuStreamEndCapture" => (IntPtr)(delegate* unmanaged<IntPtr, IntPtr*, int>)&EndCapture,
        "cuGraphInstantiateWithFlags" => (IntPtr)(delegate* unmanaged<IntPtr*, IntPtr, ulong, int>)&Instantiate,
        "cuGraphDestroy" => (IntPtr)(delegate* unmanaged<IntPtr, int>)&GraphDestroy,
        "cuGraphExecDestroy" => (IntPtr)(delegate* unmanaged<IntPtr, int>)&GraphExecDestroy,
        "cuGraphLaunch" => (IntPtr)(delegate* unmanaged<IntPtr, IntPtr, int>)&Success2,
        _ when Engine.Gpu.Native.CudaDriverApi.RequiredExports.Contains(name) => (IntPtr)(delegate* unmanaged<IntPtr, int>)&Success1,
        _ => IntPtr.Zero,
    };

    private static readonly IntPtr ErrorText = Marshal.StringToHGlobalAnsi("CUDA_ERROR_FAKE");

    [UnmanagedCallersOnly]
    private static int MemHostRegister(IntPtr pointer, nuint bytes, uint flags)
    {
        Calls.Add($"cuMemHostRegister_v2 {pointer} {bytes}");
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int MemHostUnregister(IntPtr pointer)
    {
        Calls.Add($"cuMemHostUnregister {pointer}");
        return UnregisterStatus;
    }

    [UnmanagedCallersOnly]
    private static int GetErrorName(int status, byte** text)
    {
        *text = (byte*)ErrorText;
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int BeginCapture(IntPtr stream, int mode)
    {
        Calls.Add("cuStreamBeginCapture_v2");
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int EndCapture(IntPtr stream, IntPtr* graph)
    {
        Calls.Add("cuStreamEndCapture");
        *graph = CapturedGraph;
        return EndCaptureStatus;
    }

    [UnmanagedCallersOnly]
    private static int Instantiate(IntPtr* executable, IntPtr graph, ulong flags)
    {
        Calls.Add($"cuGraphInstantiateWithFlags {graph}");
        *executable = InstantiateStatus == 0 ? new IntPtr(0x7e) : IntPtr.Zero;
        return InstantiateStatus;
    }

    [UnmanagedCallersOnly]
    private static int GraphDestroy(IntPtr graph)
    {
        Calls.Add($"cuGraphDestroy {graph}");
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int GraphExecDestroy(IntPtr executable)
    {
        Calls.Add($"cuGraphExecDestroy {executable}");
        return 0;
    }

    [UnmanagedCallersOnly]
    private static int Success1(IntPtr argument) => 0;

    [UnmanagedCallersOnly]
    private static int Success2(IntPtr first, IntPtr second) => 0;
}
