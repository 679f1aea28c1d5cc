using System.Buffers;
using System.Buffers.Binary;
using OrleansServe.Grains;
using OrleansServe.KServe;
using OrleansServe.Tensors;

namespace OrleansServe.Cli.Loadgen;

/// <summary>
/// One POST .../infer body, built once and sent for every request of a run. <see cref="HeaderLength"/> is set
/// for the binary tensor data extension: the body is that many bytes of JSON followed by raw tensor bytes.
/// </summary>
public sealed record InferRequestBody(byte[] Bytes, int? HeaderLength)
{
    /// <summary>The request header that carries <see cref="HeaderLength"/>.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    /// <summary>application/octet-stream for the binary extension, application/json otherwise.</summary>
    public string ContentType => HeaderLength is null ? "application/json" : "application/octet-stream";

    /// <summary>{"inputs":[{"name","shape","datatype":"FP32","data":[...]}]} with the data flattened row-major.</summary>
    public static InferRequestBody ForJson(IReadOnlyList<InputTensor> inputs, IReadOnlyList<float[]> data) => Write(inputs, data, null);

    /// <summary>
    /// The binary extension: a JSON header giving each input's binary_data_size and asking for every output as
    /// binary, then each input's values as little-endian FP32 in input order.
    /// </summary>
    public static InferRequestBody ForBinary(IReadOnlyList<InputTensor> inputs, IReadOnlyList<float[]> data, IEnumerable<string> outputs) =>
        Write(inputs, data, [.. outputs]);

    // Through the server's own codec (KServe's InferRequestWriter), the client half of what the server parses.
    private static InferRequestBody Write(IReadOnlyList<InputTensor> inputs, IReadOnlyList<float[]> data, string[]? binaryOutputs)
    {
        CheckData(inputs, data);
        Tensor[] tensors = [.. inputs.Select((input, i) => new Tensor(input.Name, ElementType.Fp32, input.Shape, LittleEndian(data[i])))];
        var buffer = new ArrayBufferWriter<byte>();
        var binary = binaryOutputs is not null;
        var headerLength = InferRequestWriter.Write(buffer, new InferenceRequest(null, tensors, binaryOutputs), binaryInputs: binary, binaryOutputs: binary);
        return new InferRequestBody(buffer.WrittenSpan.ToArray(), headerLength);
    }

    private static byte[] LittleEndian(float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (var j = 0; j < values.Length; j++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(j * sizeof(float)), values[j]);
        }
        return bytes;
    }

    private static void CheckData(IReadOnlyList<InputTensor> inputs, IReadOnlyList<float[]> data)
    {
        if (inputs.Count != data.Count)
        {
            throw new ArgumentException($"{inputs.Count} inputs but {data.Count} data arrays", nameof(data));
        }
        for (var i = 0; i < inputs.Count; i++)
        {
            if (data[i].Length != inputs[i].ElementCount)
            {
                throw new ArgumentException($"input '{inputs[i].Name}' needs {inputs[i].ElementCount} values, got {data[i].Length}", nameof(data));
            }
        }
    }
}

/// <summary>Seeded input values, so the server and the direct loop see the same numbers on every run.</summary>
public static class SeededInputs
{
    /// <summary>Default seed of loadgen's input values.</summary>
    public const int DefaultSeed = 20240611;

    /// <summary>One array per input, uniform in [-1, 1), from one generator seeded with <paramref name="seed"/>.</summary>
    public static float[][] Create(IReadOnlyList<InputTensor> inputs, int seed = DefaultSeed)
    {
        var random = new Random(seed);
        var data = new float[inputs.Count][];
        for (var i = 0; i < inputs.Count; i++)
        {
            data[i] = new float[inputs[i].ElementCount];
            for (var j = 0; j < data[i].Length; j++)
            {
                data[i][j] = (float)((random.NextDouble() * 2) - 1);
            }
        }
        return data;
    }
}
