using System.Buffers;
using OrleansServe.Engine.Execution;
using OrleansServe.Grains;
using OrleansServe.KServe;

namespace OrleansServe.Cli.Inference;

/// <summary>
/// `run`'s KServe v2 bodies through the server's own codec (<see cref="InferRequestParser"/>,
/// <see cref="InferResponseWriter"/>), so a result compares with any server or runtime that speaks the protocol.
/// </summary>
public static class KServeTensors
{
    /// <summary>The inputs of a JSON (or binary-extension) infer request body, and the request as parsed.</summary>
    /// <exception cref="KServeProtocolException">The body is not a valid infer request.</exception>
    public static (NamedTensor[] Inputs, ParsedInferRequest Request) ReadRequest(byte[] body)
    {
        var parsed = InferRequestParser.Parse(body, inferenceHeaderLength: null);
        return ([.. parsed.Request.Inputs.Select(t => new NamedTensor(t.Name, t.ElementType, t.Shape, t.Data))], parsed);
    }

    /// <summary>The response body of <paramref name="outputs"/>, as the request asked for them (JSON unless it asked for binary).</summary>
    public static byte[] WriteResponse(string model, IReadOnlyList<NamedTensor> outputs, ParsedInferRequest? request = null)
    {
        var response = new InferenceResponse(model, "1", request?.Request.Id, [.. outputs.Select(o => new Tensor(o.Name, o.ElementType, o.Shape, o.Data.ToArray()))]);
        var buffer = new ArrayBufferWriter<byte>();
        InferResponseWriter.Write(buffer, response, request?.BinaryOutputDefault ?? false, request?.OutputBinary);
        return buffer.WrittenSpan.ToArray();
    }
}
