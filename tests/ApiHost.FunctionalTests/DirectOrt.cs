using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OrleansServe.ApiHost.FunctionalTests;

/// <summary>Runs a model file in ONNX Runtime directly: the reference the server must agree with.</summary>
public static class DirectOrt
{
    public static float[] Run(string modelPath, string input, long[] shape, float[] data, string output)
    {
        using var session = new InferenceSession(modelPath);
        var tensor = new DenseTensor<float>(data, [.. shape.Select(d => (int)d)]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(input, tensor)], [output]);
        return [.. results.Single().AsEnumerable<float>()];
    }

    public static float[] RandomInput(long[] shape, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() * 2 - 1))];
    }
}
