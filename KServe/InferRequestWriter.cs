using System.Buffers;
using System.Text.Json;
using OrleansServe.Grains;

namespace OrleansServe.KServe;

/// <summary>
/// Writes KServe v2 infer request bodies, the client's half of the codec <see cref="InferRequestParser"/> reads:
/// every input's data as JSON, or with the binary tensor data extension as raw bytes after the JSON part.
/// </summary>
public static class InferRequestWriter
{
    /// <summary>Writes the body of <paramref name="request"/> to <paramref name="destination"/>.</summary>
    /// <param name="binaryInputs">Whether the inputs' data go as raw bytes after the JSON part.</param>
    /// <param name="binaryOutputs">When true, every requested output is asked for as binary data.</param>
    /// <returns>The JSON part's length for the Inference-Header-Content-Length header, or null when the inputs are JSON.</returns>
    /// <exception cref="ArgumentException">A tensor's data does not fit its shape and element type.</exception>
    public static int? Write(IBufferWriter<byte> destination, InferenceRequest request, bool binaryInputs = false, bool binaryOutputs = false)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(request);
        var types = InferResponseWriter.ValidateTensors(request.Inputs, nameof(request));
        int headerLength;
        using (var writer = new Utf8JsonWriter(destination))
        {
            writer.WriteStartObject();
            if (request.Id is not null)
            {
                writer.WriteString("id"u8, request.Id);
            }
            writer.WriteStartArray("inputs"u8);
            for (var i = 0; i < request.Inputs.Length; i++)
            {
                InferResponseWriter.WriteTensor(writer, request.Inputs[i], types[i], binaryInputs);
            }
            writer.WriteEndArray();
            if (request.RequestedOutputs is { } outputs)
            {
                writer.WriteStartArray("outputs"u8);
                foreach (var output in outputs)
                {
                    writer.WriteStartObject();
                    writer.WriteString("name"u8, output);
                    if (binaryOutputs)
                    {
                        writer.WriteStartObject("parameters"u8);
                        writer.WriteBoolean("binary_data"u8, true);
                        writer.WriteEndObject();
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
            writer.Flush();
            headerLength = checked((int)writer.BytesCommitted);
        }
        if (binaryInputs)
        {
            foreach (var input in request.Inputs)
            {
                destination.Write(input.Data);
            }
        }
        return binaryInputs ? headerLength : null;
    }
}
