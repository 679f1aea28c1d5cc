using System.Runtime.InteropServices;

namespace OrleansServe.Engine.Gpu.Native;

/// <summary>
/// What a native-library probe asks of the machine: environment, folders, files, and the platform loader.
/// The system implementation is <see cref="SystemNativeLibraryHost"/>; tests give a fake machine.
/// </summary>
public interface INativeLibraryHost
{
    /// <summary>Whether library names follow Windows conventions (cublas64_13.dll) rather than ELF sonames.</summary>
    bool IsWindows { get; }

    /// <summary>The user's home folder, for ~/.local; null when unknown.</summary>
    string? HomeDirectory { get; }

    /// <summary>An environment variable, or null when unset or empty.</summary>
    string? GetEnvironmentVariable(string name);

    /// <summary>Whether a folder exists.</summary>
    bool DirectoryExists(string path);

    /// <summary>Full paths of the subfolders of <paramref name="path"/>; empty when it does not exist.</summary>
    IEnumerable<string> ListDirectories(string path);

    /// <summary>Whether a file (or a link to one) exists.</summary>
    bool FileExists(string path);

    /// <summary>
    /// Asks the platform loader for a library by bare name (searched in the loader's path) or by full path.
    /// On failure <paramref name="error"/> carries the loader's reason.
    /// </summary>
    bool TryLoad(string nameOrPath, out IntPtr handle, out string? error);
}

/// <summary>The real machine: <see cref="Environment"/>, <see cref="Directory"/>, <see cref="NativeLibrary"/>.</summary>
public sealed class SystemNativeLibraryHost : INativeLibraryHost
{
    /// <summary>The one instance; the type holds no state.</summary>
    public static SystemNativeLibraryHost Instance { get; } = new();

    private SystemNativeLibraryHost()
    {
    }

    /// <inheritdoc />
    public bool IsWindows => OperatingSystem.IsWindows();

    /// <inheritdoc />
    public string? HomeDirectory
    {
        get
        {
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return string.IsNullOrEmpty(home) ? null : home;
        }
    }

    /// <inheritdoc />
    public string? GetEnvironmentVariable(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }

    /// <inheritdoc />
    public bool DirectoryExists(string path) => Directory.Exists(path);

    /// <inheritdoc />
    public IEnumerable<string> ListDirectories(string path)
    {
        try
        {
            return Directory.Exists(path) ? Directory.GetDirectories(path) : [];
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            // An unreadable folder holds nothing we could load anyway.
            return [];
        }
    }

    /// <inheritdoc />
    public bool FileExists(string path) => File.Exists(path);

    /// <inheritdoc />
    public bool TryLoad(string nameOrPath, out IntPtr handle, out string? error)
    {
        try
        {
            // Load (not TryLoad) because its exception carries the loader's reason (dlerror).
            handle = NativeLibrary.Load(nameOrPath);
            error = null;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            handle = IntPtr.Zero;
            error = LoaderReason(e.Message);
            return false;
        }
    }

    /// <summary>
    /// The loader's own words (dlerror), which .NET puts on the line after its generic advice;
    /// the whole message when there is no such line.
    /// </summary>
    public static string LoaderReason(string message)
    {
        var newline = message.IndexOf('\n');
        var reason = newline < 0 ? message : message[(newline + 1)..];
        reason = reason.Trim();
        return reason.Length == 0 ? message.Trim() : reason;
    }
}
