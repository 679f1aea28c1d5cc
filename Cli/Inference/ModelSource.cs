using OrleansServe.Zoo;

namespace OrleansServe.Cli.Inference;

/// <summary>A model named on the command line: an .onnx file, or the name of a generated zoo model.</summary>
public static class ModelSource
{
    /// <summary>The ONNX bytes and a display name.</summary>
    /// <exception cref="ArgumentException">Neither a file nor a zoo model has that name.</exception>
    public static (byte[] Bytes, string Name) Read(string pathOrName)
    {
        if (File.Exists(pathOrName))
        {
            return (File.ReadAllBytes(pathOrName), NameOf(pathOrName));
        }
        if (SampleZoo.ModelNames.Contains(pathOrName))
        {
            return (SampleZoo.Build(pathOrName), pathOrName);
        }
        if (ModelZoo.Names.Contains(pathOrName))
        {
            return (ModelZoo.Build(pathOrName), pathOrName);
        }
        throw new ArgumentException($"'{pathOrName}' is neither a file nor a zoo model ({string.Join(", ", ModelZoo.Names)})");
    }

    /// <summary>The model's name: the folder of a repository layout (&lt;model&gt;/&lt;version&gt;/model.onnx), else the file name.</summary>
    private static string NameOf(string path)
    {
        var full = Path.GetFullPath(path);
        var versionFolder = Path.GetDirectoryName(full);
        var modelFolder = versionFolder is null ? null : Path.GetDirectoryName(versionFolder);
        return Path.GetFileName(full) == "model.onnx" && long.TryParse(Path.GetFileName(versionFolder), out _) && modelFolder is not null
            ? Path.GetFileName(modelFolder)
            : Path.GetFileNameWithoutExtension(full);
    }
}
