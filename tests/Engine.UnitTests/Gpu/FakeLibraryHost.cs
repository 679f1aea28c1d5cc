namespace OrleansServe.Engine.UnitTests.Gpu;

/// <summary>
/// A machine made of a few folders and files. A library "loads" when it is listed as loadable (bare names) or
/// is an existing file not marked broken; every load is recorded in order.
/// </summary>
internal sealed class FakeLibraryHost(bool isWindows = false) : INativeLibraryHost
{
    private readonly HashSet<string> directories = new(StringComparer.Ordinal);
    private readonly HashSet<string> files = new(StringComparer.Ordinal);
    private readonly HashSet<string> loaderPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> broken = new(StringComparer.Ordinal);

    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public List<string> Loads { get; } = [];

    public bool IsWindows { get; } = isWindows;

    public string? HomeDirectory { get; set; } = "/home/serve";

    /// <summary>Adds a file and every folder above it.</summary>
    public FakeLibraryHost WithFile(string path)
    {
        files.Add(path);
        for (var folder = Path.GetDirectoryName(path); !string.IsNullOrEmpty(folder); folder = Path.GetDirectoryName(folder))
        {
            directories.Add(folder);
        }
        return this;
    }

    /// <summary>A bare name the loader finds in its own path.</summary>
    public FakeLibraryHost WithLoaderPathLibrary(string name)
    {
        loaderPath.Add(name);
        return this;
    }

    /// <summary>A file that exists but that the loader refuses.</summary>
    public FakeLibraryHost WithBrokenFile(string path, string reason)
    {
        WithFile(path);
        broken[path] = reason;
        return this;
    }

    public string? GetEnvironmentVariable(string name) => Environment.GetValueOrDefault(name);

    public bool DirectoryExists(string path) => directories.Contains(path.TrimEnd('/'));

    public IEnumerable<string> ListDirectories(string path)
    {
        var parent = path.TrimEnd('/');
        return directories.Where(directory => Path.GetDirectoryName(directory) == parent);
    }

    public bool FileExists(string path) => files.Contains(path);

    public bool TryLoad(string nameOrPath, out IntPtr handle, out string? error)
    {
        Loads.Add(nameOrPath);
        var isPath = nameOrPath.Contains('/');
        if (broken.TryGetValue(nameOrPath, out var reason))
        {
            handle = IntPtr.Zero;
            error = reason;
            return false;
        }
        if (isPath ? files.Contains(nameOrPath) : loaderPath.Contains(nameOrPath))
        {
            handle = new IntPtr(Loads.Count);
            error = null;
            return true;
        }
        handle = IntPtr.Zero;
        error = $"{nameOrPath}: cannot open shared object file: No such file or directory";
        return false;
    }
}
