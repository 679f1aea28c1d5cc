using OrleansServe.Engine.Zoo;

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
            return (File.ReadAllBytes(pathOrName), Path.GetFileNameWithoutExtension(pathOrName));
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
}
