using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace OrleansServe.Engine.UnitTests;

/// <summary>Runs model bytes in ONNX Runtime (CPU, one thread) so tests can check what a written model computes.</summary>
internal sealed class OrtRunner : IDisposable
{
    private readonly InferenceSession _session;

    public OrtRunner(byte[] model)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        _session = new InferenceSession(model, options);
    }

    /// <summary>Runs a model with one FP32 input and returns one FP32 output.</summary>
    public (float[] Values, long[] Shape) Run(string input, float[] values, long[] shape, string output)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(values, shape);
        var (bytes, outputShape) = RunAll(new Dictionary<string, OrtValue> { [input] = value }, [output])[output];
        return (MemoryMarshal.Cast<byte, float>(bytes).ToArray(), outputShape);
    }

    /// <summary>Runs the given inputs and returns each requested output as its raw element bytes and shape.</summary>
    public Dictionary<string, (byte[] Bytes, long[] Shape)> RunAll(IReadOnlyDictionary<string, OrtValue> inputs, IReadOnlyList<string> outputs)
    {
        using var runOptions = new RunOptions();
        using var results = _session.Run(runOptions, inputs, outputs);
        var byName = new Dictionary<string, (byte[], long[])>();
        for (var i = 0; i < outputs.Count; i++)
        {
            byName[outputs[i]] = (results[i].GetTensorMutableRawData().ToArray(), results[i].GetTensorTypeAndShape().Shape);
        }
        return byName;
    }

    /// <summary>An ONNX Runtime tensor of the given type holding a copy of raw little-endian element bytes.</summary>
    public static OrtValue TensorFromBytes(ElementType type, byte[] bytes, long[] shape)
    {
        // ONNX Runtime's element type enum uses the ONNX TensorProto.DataType codes.
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)type.ToOnnxCode(), shape);
        bytes.CopyTo(value.GetTensorMutableRawData());
        return value;
    }

    public void Dispose() => _session.Dispose();
}
