namespace OrleansServe.Engine.Gpu.Native;

/// <summary>
/// Where to look for one native library, in order: explicit full paths, then file name by file name (newest
/// first), each in the loader's own search path and then in each folder, so a CUDA 13 library anywhere wins over a
/// CUDA 12 one. Folder patterns may hold <c>*</c> in any segment.
/// </summary>
public sealed record NativeLibrarySearch
{
    /// <summary>The library's name for messages, e.g. "cuBLAS".</summary>
    public required string Library { get; init; }

    /// <summary>Full paths tried first, in order.</summary>
    public IReadOnlyList<string> ExplicitPaths { get; init; } = [];

    /// <summary>File names in order of preference, tried bare (loader path) and then in each folder.</summary>
    public IReadOnlyList<string> FileNames { get; init; } = [];

    /// <summary>Folders to search, in order; <c>*</c> in a segment matches any run of characters.</summary>
    public IReadOnlyList<string> Folders { get; init; } = [];

    /// <summary>
    /// A library that must be loaded from the same folder before the one named, or null: the loader does not look
    /// in a library's own folder for its dependencies, so libcublasLt.so.13 is loaded first by full path.
    /// </summary>
    public Func<string, string?> DependencyOf { get; init; } = _ => null;
}

/// <summary>A library the loader accepted.</summary>
/// <param name="Path">The name or full path that was loaded.</param>
/// <param name="Handle">The loader's handle, for <see cref="System.Runtime.InteropServices.NativeLibrary.GetExport"/>.</param>
/// <param name="Dependency">The full path of the dependency loaded first, if any.</param>
public sealed record LoadedNativeLibrary(string Path, IntPtr Handle, string? Dependency = null)
{
    /// <summary>
    /// The major version in the file name (libcublas.so.13 and cublas64_13.dll both give 13); null for an
    /// unversioned name such as libcublas.so.
    /// </summary>
    public int? MajorVersionFromName => NativeLibraryProbe.MajorVersionOf(System.IO.Path.GetFileName(Path));
}

/// <summary>The outcome of a search: the library loaded, or every place that was tried and why it failed.</summary>
/// <param name="Library">The library's name for messages.</param>
/// <param name="Loaded">What was loaded; null when nothing was.</param>
/// <param name="Probed">Each place tried, with what happened there, in order.</param>
public sealed record NativeLibraryProbe(string Library, LoadedNativeLibrary? Loaded, IReadOnlyList<string> Probed)
{
    /// <summary>Whether the library was loaded.</summary>
    public bool Found => Loaded is not null;

    /// <summary>One line: what was loaded, or "not found, probed: ..." with every place tried.</summary>
    public string Describe() => Loaded is { } loaded
        ? $"{Library}: loaded {loaded.Path}" + (loaded.Dependency is { } dependency ? $" (after {dependency})" : "")
        : $"{Library} not found, probed: {string.Join("; ", Probed)}";

    /// <summary>Runs <paramref name="search"/> on <paramref name="host"/>; stops at the first library that loads.</summary>
    public static NativeLibraryProbe Run(NativeLibrarySearch search, INativeLibraryHost host)
    {
        var probed = new List<string>();

        foreach (var path in search.ExplicitPaths)
        {
            if (TryPath(search, host, path, probed) is { } loaded)
            {
                return new NativeLibraryProbe(search.Library, loaded, probed);
            }
        }

        var folders = new List<string>();
        foreach (var pattern in search.Folders)
        {
            var matches = ExpandFolders(pattern, host);
            if (matches.Count == 0)
            {
                probed.Add($"{pattern}: no such folder");
            }
            foreach (var folder in matches)
            {
                if (!folders.Contains(folder, StringComparer.Ordinal))
                {
                    folders.Add(folder);
                }
            }
        }

        // Name by name, newest first: a libcublas.so.12 on the loader path must not win over a libcublas.so.13 in a folder.
        foreach (var name in search.FileNames)
        {
            if (host.TryLoad(name, out var handle, out var error))
            {
                return new NativeLibraryProbe(search.Library, new LoadedNativeLibrary(name, handle), probed);
            }
            probed.Add($"{name} in the loader path: {error}");
            foreach (var folder in folders)
            {
                var path = System.IO.Path.Combine(folder, name);
                if (host.FileExists(path) && TryPath(search, host, path, probed) is { } loaded)
                {
                    return new NativeLibraryProbe(search.Library, loaded, probed);
                }
            }
        }
        foreach (var folder in folders)
        {
            if (!search.FileNames.Any(name => host.FileExists(System.IO.Path.Combine(folder, name))))
            {
                probed.Add($"{folder}: none of {string.Join(", ", search.FileNames)}");
            }
        }

        return new NativeLibraryProbe(search.Library, null, probed);
    }

    private static LoadedNativeLibrary? TryPath(NativeLibrarySearch search, INativeLibraryHost host, string path, List<string> probed)
    {
        if (!host.FileExists(path))
        {
            probed.Add($"{path}: no such file");
            return null;
        }

        string? dependency = null;
        if (search.DependencyOf(System.IO.Path.GetFileName(path)) is { } dependencyName &&
            System.IO.Path.GetDirectoryName(path) is { Length: > 0 } folder)
        {
            var dependencyPath = System.IO.Path.Combine(folder, dependencyName);
            if (host.FileExists(dependencyPath))
            {
                if (host.TryLoad(dependencyPath, out _, out var dependencyError))
                {
                    dependency = dependencyPath;
                }
                else
                {
                    // Still try the library itself: its own error says best why it cannot load.
                    probed.Add($"{dependencyPath}: {dependencyError}");
                }
            }
        }

        if (host.TryLoad(path, out var handle, out var error))
        {
            return new LoadedNativeLibrary(path, handle, dependency);
        }
        probed.Add($"{path}: {error}");
        return null;
    }

    /// <summary>
    /// The existing folders that match <paramref name="pattern"/>, whose segments may hold <c>*</c>; matches of one
    /// segment come newest first (descending ordinal), so cuda-13.1 is searched before cuda-13.0.
    /// </summary>
    public static IReadOnlyList<string> ExpandFolders(string pattern, INativeLibraryHost host)
    {
        var star = pattern.IndexOf('*');
        if (star < 0)
        {
            return host.DirectoryExists(pattern) ? [pattern] : [];
        }

        var separators = new[] { '/', '\\' };
        var segmentStart = pattern.LastIndexOfAny(separators, star) + 1;
        var segmentEnd = pattern.IndexOfAny(separators, star);
        var parent = segmentStart == 0 ? "." : pattern[..segmentStart];
        var segment = segmentEnd < 0 ? pattern[segmentStart..] : pattern[segmentStart..segmentEnd];
        var rest = segmentEnd < 0 ? "" : pattern[segmentEnd..];

        var result = new List<string>();
        var matches = host.ListDirectories(parent)
            .Where(directory => WildcardMatches(System.IO.Path.GetFileName(directory), segment))
            .OrderByDescending(directory => directory, StringComparer.Ordinal);
        foreach (var match in matches)
        {
            result.AddRange(ExpandFolders(match + rest, host));
        }
        return result;
    }

    /// <summary>Whether <paramref name="name"/> matches <paramref name="pattern"/>, where <c>*</c> matches any run of characters.</summary>
    public static bool WildcardMatches(string name, string pattern)
    {
        var parts = pattern.Split('*');
        if (parts.Length == 1)
        {
            return string.Equals(name, pattern, StringComparison.Ordinal);
        }
        if (!name.StartsWith(parts[0], StringComparison.Ordinal) || !name.EndsWith(parts[^1], StringComparison.Ordinal) ||
            name.Length < parts[0].Length + parts[^1].Length)
        {
            return false;
        }
        var at = parts[0].Length;
        var end = name.Length - parts[^1].Length;
        for (var i = 1; i < parts.Length - 1; i++)
        {
            var found = name.IndexOf(parts[i], at, end - at, StringComparison.Ordinal);
            if (found < 0)
            {
                return false;
            }
            at = found + parts[i].Length;
        }
        return true;
    }

    /// <summary>
    /// The major version in a library file name: the number after ".so." (libcublas.so.13.1.0 gives 13) or after
    /// the last underscore of a DLL (cublas64_13.dll gives 13); null when there is none.
    /// </summary>
    public static int? MajorVersionOf(string fileName)
    {
        var so = fileName.IndexOf(".so.", StringComparison.Ordinal);
        string digits;
        if (so >= 0)
        {
            digits = new string(fileName[(so + 4)..].TakeWhile(char.IsAsciiDigit).ToArray());
        }
        else if (fileName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && fileName.LastIndexOf('_') is var underscore and >= 0)
        {
            digits = new string(fileName[(underscore + 1)..].TakeWhile(char.IsAsciiDigit).ToArray());
        }
        else
        {
            return null;
        }
        return int.TryParse(digits, out var major) ? major : null;
    }
}
