using System.Globalization;

namespace OrleansServe.Grains.Repository;

/// <summary>A model repository refused a request: unknown model, unsafe name, missing or broken files.</summary>
public sealed class ModelRepositoryException(string message, bool notFound = false) : Exception(message)
{
    /// <summary>True when the model or version does not exist (HTTP 404), false when it exists but is unusable.</summary>
    public bool NotFound { get; } = notFound;
}

/// <summary>One version of a model as it lies in the repository.</summary>
public sealed record ModelFiles(string Name, string Version, ModelConfig Config, byte[] OnnxBytes);

/// <summary>
/// A Triton-style model repository folder: <c>&lt;root&gt;/&lt;model&gt;/config.json</c> and
/// <c>&lt;root&gt;/&lt;model&gt;/&lt;version&gt;/model.onnx</c>, versions being positive integers.
/// </summary>
public sealed class ModelRepository(string root, long maxModelBytes = ModelRepository.DefaultMaxModelBytes)
{
    /// <summary>Largest model file read into memory unless configured otherwise (2 GiB, protobuf's own limit).</summary>
    public const long DefaultMaxModelBytes = int.MaxValue;

    /// <summary>Largest config.json read.</summary>
    public const int MaxConfigBytes = ModelNames.MaxConfigBytes;

    /// <summary>The file name of a model inside a version folder.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>The repository's root folder.</summary>
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Whether a name can be a model name (<see cref="ModelNames.IsValid"/>).</summary>
    public static bool IsValidModelName(string? name) => ModelNames.IsValid(name);

    /// <summary>Whether a version string is a positive integer without leading zeros or signs (<see cref="ModelNames.IsValidVersion"/>).</summary>
    public static bool IsValidVersion(string? version) => ModelNames.IsValidVersion(version);

    /// <summary>True when the folder holds no model yet (or does not exist).</summary>
    public bool IsEmpty() => !Directory.Exists(Root) || ListModels().Count == 0;

    /// <summary>Models in the repository: sub-folders with a valid name and at least one version holding a model file.</summary>
    public IReadOnlyList<string> ListModels()
    {
        if (!Directory.Exists(Root))
        {
            return [];
        }
        return Directory.EnumerateDirectories(Root)
            .Select(Path.GetFileName)
            .Where(name => IsValidModelName(name) && ListVersions(name!).Count > 0)
            .Order(StringComparer.Ordinal)
            .ToList()!;
    }

    /// <summary>Versions of a model, ascending; empty when the model does not exist.</summary>
    public IReadOnlyList<string> ListVersions(string model)
    {
        var folder = ModelFolder(model);
        if (!Directory.Exists(folder))
        {
            return [];
        }
        return Directory.EnumerateDirectories(folder)
            .Select(Path.GetFileName)
            .Where(v => IsValidVersion(v) && File.Exists(Path.Combine(folder, v!, ModelFileName)))
            .OrderBy(v => long.Parse(v!, CultureInfo.InvariantCulture))
            .ToList()!;
    }

    /// <summary>Reads the configuration and the newest version's model file.</summary>
    public ModelFiles ReadLatest(string model)
    {
        var versions = ListVersions(model);
        if (versions.Count == 0)
        {
            throw new ModelRepositoryException($"model '{model}' is not in the repository", notFound: true);
        }
        var version = versions[^1];
        var config = ReadConfig(model);
        var path = Path.Combine(ModelFolder(model), version, ModelFileName);
        return new ModelFiles(model, version, config, ReadBounded(path, maxModelBytes, $"model '{model}' version {version}"));
    }

    /// <summary>Reads config.json with defaults for missing fields; a missing file means all defaults.</summary>
    public ModelConfig ReadConfig(string model)
    {
        var path = Path.Combine(ModelFolder(model), "config.json");
        return File.Exists(path) ? ModelConfig.Parse(ReadBounded(path, MaxConfigBytes, $"model '{model}': config.json"), model) : new ModelConfig();
    }

    /// <summary>
    /// Reads a whole file of at most <paramref name="limit"/> bytes, and no more than the length it declares: a device
    /// such as /dev/zero declares 0 bytes and never ends, so it is refused instead of read until memory runs out.
    /// </summary>
    private static byte[] ReadBounded(string path, long limit, string what)
    {
        using var stream = File.OpenRead(path);
        var length = stream.Length;
        if (length > limit)
        {
            throw new ModelRepositoryException($"{what}: {length} bytes exceeds the configured limit of {limit} bytes");
        }
        var bytes = new byte[length];
        try
        {
            stream.ReadExactly(bytes);
        }
        catch (EndOfStreamException)
        {
            throw new ModelRepositoryException($"{what}: the file shrank below its {length} bytes while it was read");
        }
        if (stream.ReadByte() != -1)
        {
            throw new ModelRepositoryException($"{what}: not a regular file (it reads past its length of {length} bytes)");
        }
        return bytes;
    }

    private string ModelFolder(string model)
    {
        if (!IsValidModelName(model))
        {
            throw new ModelRepositoryException($"'{model}' is not a valid model name (letters, digits, '_', '-', '.'; at most 128)", notFound: true);
        }
        return Path.Combine(Root, model);
    }
}
