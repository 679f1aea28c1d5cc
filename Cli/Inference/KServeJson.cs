using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using OrleansServe.Engine.Execution;
using OrleansServe.Tensors;

namespace OrleansServe.Cli.Inference;

/// <summary>A KServe v2 JSON body could not be read.</summary>
public sealed class KServeJsonException(string message) : Exception(message);

/// <summary>
/// Reads KServe v2 (Open Inference Protocol) JSON infer request bodies into tensors and writes infer response
/// bodies, so `run` results can be compared with any server or runtime that speaks the protocol.
/// </summary>
public static class KServeJson
{
    /// <summary>Reads the "inputs" of a request body; "data" may be flat or nested row-major.</summary>
    public static IReadOnlyList<NamedTensor> ReadRequest(ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new KServeJsonException($"the request is not valid JSON: {e.Message}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array)
            {
                throw new KServeJsonException("the request needs an \"inputs\" array");
            }
            var tensors = new List<NamedTensor>();
            foreach (var input in inputs.EnumerateArray())
            {
                tensors.Add(ReadInput(input));
            }
            return tensors;
        }
    }

    private static NamedTensor ReadInput(JsonElement input)
    {
        string Text(string property) =>
            input.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : throw new KServeJsonException($"an input needs a string \"{property}\"");
        var name = Text("name");
        if (!ElementTypes.TryParseKServeName(Text("datatype"), out var type))
        {
            throw new KServeJsonException($"input '{name}': unknown datatype '{Text("datatype")}'");
        }
        if (!input.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
        {
            throw new KServeJsonException($"input '{name}' needs a \"shape\" array");
        }
        var shape = shapeElement.EnumerateArray().Select(d => d.TryGetInt64(out var v) && v >= 0 ? v : throw new KServeJsonException($"input '{name}': shape entries must be non-negative integers")).ToArray();
        var count = shape.Aggregate(1L, (p, d) => p * d);
        if (!input.TryGetProperty("data", out var data))
        {
            throw new KServeJsonException($"input '{name}' needs \"data\"");
        }
        var values = new List<JsonElement>();
        Flatten(data, values);
        if (values.Count != count)
        {
            throw new KServeJsonException($"input '{name}' has {values.Count} values, but shape [{string.Join(',', shape)}] needs {count}");
        }
        var size = type.ByteSize();
        var bytes = new byte[count * size];
        for (var i = 0; i < values.Count; i++)
        {
            Write(bytes.AsSpan(i * size, size), type, values[i], name);
        }
        return new NamedTensor(name, type, shape, bytes);
    }

    private static void Flatten(JsonElement element, List<JsonElement> values)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                Flatten(item, values);
            }
        }
        else
        {
            values.Add(element);
        }
    }

    private static void Write(Span<byte> target, ElementType type, JsonElement value, string name)
    {
        try
        {
            switch (type)
            {
                case ElementType.Bool:
                    target[0] = value.ValueKind switch
                    {
                        JsonValueKind.True => 1,
                        JsonValueKind.False => 0,
                        _ => throw new KServeJsonException($"input '{name}': BOOL values must be true or false"),
                    };
                    break;
                case ElementType.Fp32:
                    BinaryPrimitives.WriteSingleLittleEndian(target, value.GetSingle());
                    break;
                case ElementType.Fp64:
                    BinaryPrimitives.WriteDoubleLittleEndian(target, value.GetDouble());
                    break;
                case ElementType.Fp16:
                    BinaryPrimitives.WriteHalfLittleEndian(target, (Half)value.GetSingle());
                    break;
                case ElementType.Int64:
                    BinaryPrimitives.WriteInt64LittleEndian(target, value.GetInt64());
                    break;
                case ElementType.Int32:
                    BinaryPrimitives.WriteInt32LittleEndian(target, value.GetInt32());
                    break;
                case ElementType.Int16:
                    BinaryPrimitives.WriteInt16LittleEndian(target, value.GetInt16());
                    break;
                case ElementType.Int8:
                    target[0] = (byte)value.GetSByte();
                    break;
                case ElementType.UInt8:
                    target[0] = value.GetByte();
                    break;
                case ElementType.UInt16:
                    BinaryPrimitives.WriteUInt16LittleEndian(target, value.GetUInt16());
                    break;
                case ElementType.UInt32:
                    BinaryPrimitives.WriteUInt32LittleEndian(target, value.GetUInt32());
                    break;
                case ElementType.UInt64:
                    BinaryPrimitives.WriteUInt64LittleEndian(target, value.GetUInt64());
                    break;
            }
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new KServeJsonException($"input '{name}': {value.GetRawText()} is not a {type.ToKServeName()} value");
        }
    }

    /// <summary>Writes {"model_name", "outputs": [{"name","datatype","shape","data"}]} with flat data.</summary>
    public static byte[] WriteResponse(string modelName, IReadOnlyList<NamedTensor> outputs)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            json.WriteStartObject();
            json.WriteString("model_name", modelName);
            json.WriteStartArray("outputs");
            foreach (var output in outputs)
            {
                json.WriteStartObject();
                json.WriteString("name", output.Name);
                json.WriteString("datatype", output.ElementType.ToKServeName());
                json.WriteStartArray("shape");
                foreach (var d in output.Shape)
                {
                    json.WriteNumberValue(d);
                }
                json.WriteEndArray();
                json.WriteStartArray("data");
                WriteData(json, output);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteData(Utf8JsonWriter json, NamedTensor tensor)
    {
        var bytes = tensor.Data.Span;
        var size = tensor.ElementType.ByteSize();
        for (var offset = 0; offset < bytes.Length; offset += size)
        {
            var b = bytes.Slice(offset, size);
            switch (tensor.ElementType)
            {
                case ElementType.Bool: json.WriteBooleanValue(b[0] != 0); break;
                case ElementType.Fp32: WriteFloat(json, BinaryPrimitives.ReadSingleLittleEndian(b)); break;
                case ElementType.Fp16: WriteFloat(json, (float)BinaryPrimitives.ReadHalfLittleEndian(b)); break;
                case ElementType.Fp64: json.WriteNumberValue(BinaryPrimitives.ReadDoubleLittleEndian(b)); break;
                case ElementType.Int64: json.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(b)); break;
                case ElementType.Int32: json.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(b)); break;
                case ElementType.Int16: json.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(b)); break;
                case ElementType.Int8: json.WriteNumberValue((sbyte)b[0]); break;
                case ElementType.UInt8: json.WriteNumberValue(b[0]); break;
                case ElementType.UInt16: json.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(b)); break;
                case ElementType.UInt32: json.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(b)); break;
                default: json.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(b)); break;
            }
        }
    }

    /// <summary>JSON has no NaN or infinity; they are written as strings, as several KServe servers do.</summary>
    private static void WriteFloat(Utf8JsonWriter json, float value)
    {
        if (float.IsFinite(value))
        {
            json.WriteNumberValue(value);
        }
        else
        {
            json.WriteStringValue(value.ToString(CultureInfo.InvariantCulture));
        }
    }
}
