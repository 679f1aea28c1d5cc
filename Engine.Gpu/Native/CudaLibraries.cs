namespace OrleansServe.Engine.Gpu.Native;

/// <summary>
/// Finds the CUDA math libraries this engine binds itself (ILGPU.Algorithms only knows cuBLAS up to 12).
/// The order for cuBLAS: <see cref="CuBlasOverrideVariable"/> alone when set; otherwise the configured paths,
/// then libcublas.so.13, .12, .11 and libcublas.so, each through the loader's own path and then in the folders:
/// the pip wheels' nvidia/cublas/lib (or CUDA 13's consolidated nvidia/cu13/lib) in the site folders of
/// <see cref="PythonSiteVariable"/>, of the Python interpreters on PATH (a virtual environment's python3 in
/// <c>prefix/bin</c> has its packages in <c>prefix/lib/python3.*/site-packages</c>), of VIRTUAL_ENV and CONDA_PREFIX,
/// then the CUDA toolkit folders, the system library folders and the usual system and user site folders.
/// </summary>
public static class CudaLibraries
{
    /// <summary>Full path of the cuBLAS library to use; when set, nothing else is tried.</summary>
    public const string CuBlasOverrideVariable = "ORLEANSSERVE_CUBLAS";

    /// <summary>Python site-packages folders (separated like PATH) whose nvidia/ wheels are searched first.</summary>
    public const string PythonSiteVariable = "ORLEANSSERVE_PYTHON_SITE";

    private static readonly string[] LinuxCuBlasNames = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"];
    private static readonly string[] WindowsCuBlasNames = ["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"];

    // Where pip's CUDA wheels put their libraries inside a site folder: per-library for CUDA 12, and either
    // per-library or the consolidated cu13 folder for CUDA 13.
    private static readonly string[] WheelLibraryFolders = ["nvidia/cublas/lib", "nvidia/cu13/lib"];
    private static readonly string[] WindowsWheelLibraryFolders = ["nvidia/cublas/bin", "nvidia/cu13/bin/x86_64", "nvidia/cu13/bin"];

    private static readonly string[] LinuxSiteFolders =
    [
        "/usr/local/lib/python3*/site-packages",
        "/usr/local/lib/python3*/dist-packages",
        "/usr/lib/python3*/site-packages",
        "/usr/lib/python3*/dist-packages",
        "~/.local/lib/python3*/site-packages",
        "/opt/conda/lib/python3*/site-packages",
        "/opt/*/.venv/lib/python3*/site-packages",
    ];

    /// <summary>
    /// The cuBLAS search for <paramref name="host"/>: environment, home folder and platform naming come from it.
    /// </summary>
    /// <param name="host">The machine.</param>
    /// <param name="configuredPaths">Full paths tried before any name or folder (ignored when the override variable is set).</param>
    public static NativeLibrarySearch CuBlasSearch(INativeLibraryHost host, IReadOnlyList<string>? configuredPaths = null)
    {
        if (host.GetEnvironmentVariable(CuBlasOverrideVariable) is { } overridePath)
        {
            return new NativeLibrarySearch
            {
                Library = "cuBLAS",
                ExplicitPaths = [overridePath],
                DependencyOf = host.IsWindows ? WindowsCuBlasDependency : LinuxCuBlasDependency,
            };
        }

        var pythonSites = (host.GetEnvironmentVariable(PythonSiteVariable) ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        var folders = new List<string>();
        if (host.IsWindows)
        {
            folders.AddRange(pythonSites.SelectMany(site => WindowsWheelLibraryFolders.Select(wheel => Path.Combine(site, wheel))));
            foreach (var variable in new[] { "CUDA_PATH", "CUDA_HOME" })
            {
                if (host.GetEnvironmentVariable(variable) is { } cuda)
                {
                    // CUDA 13 moved the Windows DLLs from bin to bin\x64.
                    folders.Add(Path.Combine(cuda, "bin", "x64"));
                    folders.Add(Path.Combine(cuda, "bin"));
                }
            }
        }
        else
        {
            folders.AddRange(pythonSites.Concat(InterpreterSites(host))
                .SelectMany(site => WheelLibraryFolders.Select(wheel => $"{site.TrimEnd('/')}/{wheel}")));
            foreach (var variable in new[] { "CUDA_HOME", "CUDA_PATH" })
            {
                if (host.GetEnvironmentVariable(variable) is { } cuda)
                {
                    folders.Add($"{cuda.TrimEnd('/')}/lib64");
                }
            }
            folders.Add("/usr/local/cuda/lib64");
            folders.Add("/usr/local/cuda-13*/lib64");
            folders.Add("/usr/local/cuda-12*/lib64");
            folders.Add("/usr/lib/x86_64-linux-gnu");
            folders.Add("/usr/lib/aarch64-linux-gnu");
            foreach (var site in LinuxSiteFolders)
            {
                if (site.StartsWith("~/", StringComparison.Ordinal))
                {
                    if (host.HomeDirectory is not { } home)
                    {
                        continue;
                    }
                    folders.AddRange(WheelLibraryFolders.Select(wheel => $"{home.TrimEnd('/')}/{site[2..]}/{wheel}"));
                }
                else
                {
                    folders.AddRange(WheelLibraryFolders.Select(wheel => $"{site}/{wheel}"));
                }
            }
        }

        return new NativeLibrarySearch
        {
            Library = "cuBLAS",
            ExplicitPaths = configuredPaths ?? [],
            FileNames = host.IsWindows ? WindowsCuBlasNames : LinuxCuBlasNames,
            Folders = folders,
            DependencyOf = host.IsWindows ? WindowsCuBlasDependency : LinuxCuBlasDependency,
        };
    }

    /// <summary>
    /// Site-packages patterns of the Python environments this machine points at: each python3 on PATH (its prefix is
    /// the folder above its bin), VIRTUAL_ENV and CONDA_PREFIX. The first is how a venv's CUDA wheels are found
    /// without any setting.
    /// </summary>
    public static IEnumerable<string> InterpreterSites(INativeLibraryHost host)
    {
        var prefixes = new List<string>();
        foreach (var folder in (host.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (host.FileExists($"{folder.TrimEnd('/')}/python3") && Path.GetDirectoryName(folder.TrimEnd('/')) is { Length: > 0 } prefix)
            {
                prefixes.Add(prefix);
            }
        }
        foreach (var variable in new[] { "VIRTUAL_ENV", "CONDA_PREFIX" })
        {
            if (host.GetEnvironmentVariable(variable) is { } prefix)
            {
                prefixes.Add(prefix.TrimEnd('/'));
            }
        }
        return prefixes.Select(prefix => prefix.TrimEnd('/')).Distinct(StringComparer.Ordinal).Select(prefix => $"{prefix}/lib/python3*/site-packages");
    }

    /// <summary>Searches for cuBLAS and loads the first library that the loader accepts.</summary>
    /// <param name="configuredPaths">Full paths tried first (after the override variable).</param>
    /// <param name="host">The machine; the real one when null.</param>
    public static NativeLibraryProbe ProbeCuBlas(IReadOnlyList<string>? configuredPaths = null, INativeLibraryHost? host = null)
    {
        host ??= SystemNativeLibraryHost.Instance;
        return NativeLibraryProbe.Run(CuBlasSearch(host, configuredPaths), host);
    }

    /// <summary>
    /// Loads cuBLAS, or throws <see cref="DllNotFoundException"/> whose message names every place probed.
    /// </summary>
    public static LoadedNativeLibrary LoadCuBlas(IReadOnlyList<string>? configuredPaths = null, INativeLibraryHost? host = null)
    {
        var probe = ProbeCuBlas(configuredPaths, host);
        return probe.Loaded ?? throw new DllNotFoundException(
            $"{probe.Describe()}. Set {CuBlasOverrideVariable} to the library's full path, or {PythonSiteVariable} to the " +
            "site-packages folder holding the nvidia CUDA wheels.");
    }

    // libcublas.so.13 links libcublasLt.so.13 by soname; the same holds for the unversioned development link.
    private static string? LinuxCuBlasDependency(string fileName) =>
        fileName.StartsWith("libcublas.so", StringComparison.Ordinal) ? "libcublasLt" + fileName["libcublas".Length..] : null;

    private static string? WindowsCuBlasDependency(string fileName) =>
        fileName.StartsWith("cublas64_", StringComparison.OrdinalIgnoreCase) ? "cublasLt64_" + fileName["cublas64_".Length..] : null;
}
