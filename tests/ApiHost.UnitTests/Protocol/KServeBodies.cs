using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrleansServe.ApiHost.UnitTests.Protocol;

/// <summary>Builds request bodies and reads tensors back to typed values, as a client would.</summary>
internal static class KServeBodies
{
    public static byte[] Utf8(string json) => Encoding.UTF8.GetBytes(json);

    public static ParsedInferRequest Parse(string json) => InferRequestParser.Parse(Utf8(json), null);

    /// <summary>A body with the binary tensor extension: the JSON header followed by the binary parts.</summary>
    public static (byte[] Body, int HeaderLength) WithBinary(string json, params byte[][] parts)
    {
        var header = Utf8(json);
        var body = header.Concat(parts.SelectMany(p => p)).ToArray();
        return (body, header.Length);
    }

    /// <summary>Raw little-endian bytes of typed values (the test machines are little-endian, as the server is).</summary>
    public static byte[] Bytes<T>(params T[] values)
        where T : unmanaged
    {
        Assert.True(BitConverter.IsLittleEndian);
        return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
    }

    public static T[] Values<T>(Tensor tensor)
        where T : unmanaged => MemoryMarshal.Cast<byte, T>(tensor.Data).ToArray();

    public static Tensor TensorOf<T>(string name, string datatype, long[] shape, params T[] values)
        where T : unmanaged => new(name, ElementTypes.TryParseKServeName(datatype, out var type) ? type : throw new ArgumentException($"no datatype {datatype}"), shape, Bytes(values));

    public static string ResponseJson(InferenceResponse response, bool binaryOutputDefault = false, IReadOnlyDictionary<string, bool>? outputBinary = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Assert.Null(InferResponseWriter.Write(buffer, response, binaryOutputDefault, outputBinary));
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Sends a response's outputs back through the parser as the inputs of a request (the client's view of the
    /// wire), binary parts included.
    /// </summary>
    public static Tensor[] RoundTrip(InferenceResponse response, bool binary = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var headerLength = InferResponseWriter.Write(buffer, response, binaryOutputDefault: binary);
        var written = buffer.WrittenMemory;
        var jsonLength = headerLength ?? written.Length;
        var document = JsonNode.Parse(written.Span[..jsonLength])!;
        var request = new JsonObject { ["inputs"] = document["outputs"]!.DeepClone() };
        var requestHeader = JsonSerializer.SerializeToUtf8Bytes(request);
        var body = requestHeader.Concat(written[jsonLength..].ToArray()).ToArray();
        return InferRequestParser.Parse(body, headerLength is null ? null : requestHeader.Length).Request.Inputs;
    }

    public static KServeProtocolException Rejected(string json, string expectedMessagePart) =>
        Rejected(Utf8(json), null, expectedMessagePart);

    public static KServeProtocolException Rejected(byte[] body, int? headerLength, string expectedMessagePart)
    {
        var exception = Assert.Throws<KServeProtocolException>(() => InferRequestParser.Parse(body, headerLength));
        Assert.Contains(expectedMessagePart, exception.Message, StringComparison.Ordinal);
        return exception;
    }
}
