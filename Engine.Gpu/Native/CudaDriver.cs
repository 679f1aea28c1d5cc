using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using ILGPU;

namespace OrleansServe.Engine.Gpu.Native;

/// <summary>
/// Lets ILGPU's CUDA backend find the driver on machines that only carry the versioned soname.
/// ILGPU 1.5.3 imports the driver API as library "cuda" on Linux (its Windows import is "nvcuda"), which .NET
/// probes as libcuda.so, cuda.so, libcuda and cuda; driver installs without the development link only have
/// libcuda.so.1. ILGPU reads the driver once, on first use of its CUDA API, and treats a load failure as
/// "no CUDA", so <see cref="EnsureResolvable"/> must run before the first <c>Context</c> with CUDA is built.
/// </summary>
public static class CudaDriver
{
    /// <summary>The library name ILGPU's CUDA driver imports use on Linux and macOS.</summary>
    public const string IlgpuLinuxLibraryName = "cuda";

    private static readonly Lock Gate = new();
    private static bool registered;
    private static string? lastResolution;

    /// <summary>
    /// What the fallback resolver last did ("cuda → libcuda.so.1"), or null when ILGPU never needed it
    /// (the driver resolved by its own name, or CUDA was not used yet).
    /// </summary>
    public static string? LastResolution
    {
        get
        {
            lock (Gate)
            {
                return lastResolution;
            }
        }
    }

    /// <summary>
    /// Registers, once per process, a fallback that maps ILGPU's "cuda" import to libcuda.so.1 when the loader's
    /// own probing fails. It uses the load context's ResolvingUnmanagedDll event rather than
    /// <see cref="NativeLibrary.SetDllImportResolver"/>: ILGPU sets that resolver itself under WSL, and an
    /// assembly can have only one.
    /// </summary>
    public static void EnsureResolvable()
    {
        lock (Gate)
        {
            if (registered)
            {
                return;
            }
            var ilgpu = typeof(Context).Assembly;
            var loadContext = AssemblyLoadContext.GetLoadContext(ilgpu) ?? AssemblyLoadContext.Default;
            loadContext.ResolvingUnmanagedDll += (assembly, name) => Resolve(ilgpu, assembly, name);
            registered = true;
        }
    }

    /// <summary>
    /// The files to try when <paramref name="requestedName"/> from ILGPU did not load on its own: libcuda.so.1
    /// through the loader path, then the driver folder containers mount read-only (/usr/local/nvidia/lib64), then
    /// WSL's driver folder. Empty for any other name or platform.
    /// </summary>
    public static IReadOnlyList<string> FallbackCandidates(string requestedName, bool isLinux) =>
        isLinux && (string.Equals(requestedName, IlgpuLinuxLibraryName, StringComparison.Ordinal) ||
                    string.Equals(requestedName, "libcuda.so", StringComparison.Ordinal))
            ? ["libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1"]
            : [];

    /// <summary>
    /// Which driver library loads on this machine, tried the way ILGPU and the fallback would:
    /// a description such as "libcuda.so.1", or "not found (libcuda.so: ...; libcuda.so.1: ...)".
    /// </summary>
    public static string DescribeDriverLibrary(INativeLibraryHost? host = null)
    {
        host ??= SystemNativeLibraryHost.Instance;
        string[] names = host.IsWindows
            ? ["nvcuda.dll"]
            : ["libcuda.so", .. FallbackCandidates(IlgpuLinuxLibraryName, isLinux: true)];
        var failures = new List<string>();
        foreach (var name in names)
        {
            // Left loaded: the driver stays mapped for the process's life once ILGPU opens it anyway.
            if (host.TryLoad(name, out _, out var error))
            {
                return name;
            }
            failures.Add($"{name}: {error}");
        }
        return $"not found ({string.Join("; ", failures)})";
    }

    private static IntPtr Resolve(Assembly ilgpu, Assembly requesting, string name)
    {
        if (requesting != ilgpu)
        {
            return IntPtr.Zero;
        }
        var candidates = FallbackCandidates(name, OperatingSystem.IsLinux());
        if (candidates.Count == 0)
        {
            return IntPtr.Zero;
        }
        var failures = new List<string>();
        foreach (var candidate in candidates)
        {
            if (SystemNativeLibraryHost.Instance.TryLoad(candidate, out var handle, out var error))
            {
                Record($"{name} → {candidate}");
                return handle;
            }
            failures.Add($"{candidate}: {error}");
        }
        Record($"{name} → not found ({string.Join("; ", failures)})");
        return IntPtr.Zero;
    }

    private static void Record(string resolution)
    {
        lock (Gate)
        {
            lastResolution = resolution;
        }
    }
}
