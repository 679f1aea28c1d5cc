using System.Text;
using System.Text.Json;
using OrleansServe.Grains;
using OrleansServe.Tensors;

namespace OrleansServe.KServe;

/// <summary>
/// Reads the body of a KServe v2 REST infer request (<c>POST v2/models/{m}/infer</c>), with or without the binary
/// tensor extension, straight from UTF-8 bytes into raw little-endian tensor buffers.
/// </summary>
/// <remarks>
/// JSON <c>data</c> may be flat or nested arrays (flattened row-major; only the element count is checked against the
/// shape). Floating-point inputs accept the strings "NaN", "Infinity" and "-Infinity". Unknown properties are ignored;
/// a known property given twice is an error. An empty <c>outputs</c> array means the same as none.
/// </remarks>
public static class InferRequestParser
{
    /// <summary>Deepest JSON nesting accepted; deeper bodies are rejected before they cost stack or time.</summary>
    public const int MaxDepth = 32;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    /// <summary>Parses an infer request body.</summary>
    /// <param name="body">The whole request body.</param>
    /// <param name="inferenceHeaderLength">
    /// The <c>Inference-Header-Content-Length</c> header: the length of the JSON part, after which come the binary
    /// inputs in input order. Null when the header was absent (the whole body is JSON).
    /// </param>
    /// <exception cref="KServeProtocolException">The body is malformed; the message says how, for the API user.</exception>
    public static ParsedInferRequest Parse(ReadOnlyMemory<byte> body, int? inferenceHeaderLength)
    {
        var jsonLength = body.Length;
        if (inferenceHeaderLength is int headerLength)
        {
            if (headerLength < 0)
            {
                throw Error($"Inference-Header-Content-Length must not be negative, got {headerLength}");
            }
            if (headerLength > body.Length)
            {
                throw Error($"Inference-Header-Content-Length is {headerLength} but the body has only {body.Length} bytes");
            }
            jsonLength = headerLength;
        }

        RequestHeader header;
        try
        {
            header = ReadHeader(body.Span[..jsonLength]);
        }
        catch (JsonException e)
        {
            throw new KServeProtocolException($"malformed JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // The reader throws this when it unescapes text that is not valid UTF-8 or has a lone surrogate escape.
            throw new KServeProtocolException($"malformed JSON: {e.Message}", e);
        }

        var inputs = AttachBinaryData(header.Inputs, body[jsonLength..], inferenceHeaderLength is not null);
        var request = new InferenceRequest(header.Id, inputs, header.Outputs?.Select(o => o.Name).ToArray());
        return new ParsedInferRequest(request, header.BinaryOutputDefault, ResolveOutputBinary(header));
    }

    private sealed record RequestHeader(string? Id, bool BinaryOutputDefault, List<InputHeader> Inputs, List<OutputHeader>? Outputs);

    private sealed record OutputHeader(string Name, bool? Binary);

    /// <summary>One input as the JSON describes it; Data is null while it is still to come from the binary part.</summary>
    private sealed class InputHeader(int index)
    {
        public int Index { get; } = index;
        public string? Name { get; set; }
        public long[]? Shape { get; set; }
        public string? Datatype { get; set; }

        /// <summary>The datatype parsed, once it has been (the string is read once, here).</summary>
        public ElementType? Type { get; set; }

        public long? BinaryDataSize { get; set; }
        public bool HasData { get; set; }
        public byte[]? Data { get; set; }

        /// <summary>Where the data array starts when it came before the name, shape or datatype and so could not be decoded yet.</summary>
        public int DeferredDataStart { get; set; } = -1;

        public string Label => Name is null ? $"inputs[{Index}]" : $"input '{Name}'";
    }

    private static RequestHeader ReadHeader(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error("the request body must be a JSON object");
        }

        string? id = null;
        var binaryOutputDefault = false;
        List<InputHeader>? inputs = null;
        List<OutputHeader>? outputs = null;
        var seen = new SeenProperties();
        while (ReadProperty(ref reader))
        {
            if (reader.ValueTextEquals("id"u8))
            {
                seen.Check(0, "id", "the request");
                reader.Read();
                id = reader.TokenType switch
                {
                    JsonTokenType.String => ReadString(ref reader, "'id'"),
                    JsonTokenType.Null => null,
                    _ => throw Error("'id' must be a string"),
                };
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                seen.Check(1, "parameters", "the request");
                reader.Read();
                binaryOutputDefault = ReadRequestParameters(ref reader);
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                seen.Check(2, "inputs", "the request");
                reader.Read();
                inputs = ReadInputs(ref reader, json);
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                seen.Check(3, "outputs", "the request");
                reader.Read();
                outputs = ReadOutputs(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        // Anything but whitespace after the object makes the reader throw.
        if (reader.Read())
        {
            throw Error("unexpected content after the JSON object");
        }
        if (inputs is null)
        {
            throw Error("the request has no 'inputs'");
        }
        return new RequestHeader(id, binaryOutputDefault, inputs, outputs is { Count: > 0 } ? outputs : null);
    }

    private static bool ReadRequestParameters(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return false;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error("'parameters' must be an object");
        }
        var binaryOutput = false;
        while (ReadProperty(ref reader))
        {
            if (reader.ValueTextEquals("binary_data_output"u8))
            {
                reader.Read();
                binaryOutput = ReadBool(ref reader, "parameters.binary_data_output");
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return binaryOutput;
    }

    private static List<InputHeader> ReadInputs(ref Utf8JsonReader reader, ReadOnlySpan<byte> json)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error("'inputs' must be an array");
        }
        var inputs = new List<InputHeader>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var input = ReadInput(ref reader, json, inputs.Count);
            if (!names.Add(input.Name!))
            {
                throw Error($"input '{input.Name}' is given more than once");
            }
            inputs.Add(input);
        }
        return inputs;
    }

    private static InputHeader ReadInput(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, int index)
    {
        var input = new InputHeader(index);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"{input.Label} must be an object");
        }
        var seen = new SeenProperties();
        while (ReadProperty(ref reader))
        {
            if (reader.ValueTextEquals("name"u8))
            {
                seen.Check(0, "name", input.Label);
                reader.Read();
                var name = reader.TokenType == JsonTokenType.String
                    ? ReadString(ref reader, $"the name of {input.Label}")
                    : throw Error($"the name of {input.Label} must be a string");
                input.Name = name.Length > 0 ? name : throw Error($"the name of {input.Label} must not be empty");
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                seen.Check(1, "shape", input.Label);
                reader.Read();
                input.Shape = ReadShape(ref reader, input.Label);
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                seen.Check(2, "datatype", input.Label);
                reader.Read();
                input.Datatype = reader.TokenType == JsonTokenType.String
                    ? ReadString(ref reader, $"the datatype of {input.Label}")
                    : throw Error($"the datatype of {input.Label} must be a string");
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                seen.Check(3, "parameters", input.Label);
                reader.Read();
                input.BinaryDataSize = ReadInputParameters(ref reader, input.Label);
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                seen.Check(4, "data", input.Label);
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw Error($"{input.Label}: 'data' must be an array");
                }
                input.HasData = true;
                if (input is { Name: not null, Shape: not null, Datatype: not null })
                {
                    // The usual order (name, shape, datatype, data): decode in this pass.
                    input.Data = DecodeData(ref reader, input, json.Length);
                }
                else
                {
                    input.DeferredDataStart = checked((int)reader.TokenStartIndex);
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (input.Name is null)
        {
            throw Error($"{input.Label} has no 'name'");
        }
        if (input.Shape is null)
        {
            throw Error($"{input.Label} has no 'shape'");
        }
        if (input.Datatype is null)
        {
            throw Error($"{input.Label} has no 'datatype'");
        }
        if (input.HasData && input.BinaryDataSize is not null)
        {
            throw Error($"{input.Label} has both 'data' and parameters.binary_data_size; give one");
        }
        if (!input.HasData && input.BinaryDataSize is null)
        {
            throw Error($"{input.Label} has neither 'data' nor parameters.binary_data_size");
        }
        if (input.DeferredDataStart >= 0)
        {
            var dataReader = new Utf8JsonReader(json[input.DeferredDataStart..], ReaderOptions);
            dataReader.Read();
            input.Data = DecodeData(ref dataReader, input, json.Length);
        }
        else if (input.BinaryDataSize is not null)
        {
            // Validates the datatype and shape now so that errors come in the order the inputs were given.
            ElementCount(input, out _);
        }
        return input;
    }

    private static long[] ReadShape(ref Utf8JsonReader reader, string label)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error($"{label}: 'shape' must be an array of integers");
        }
        var shape = new List<long>(4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dim))
            {
                throw Error($"{label}: 'shape' must be an array of integers, found {Describe(ref reader)}");
            }
            if (dim < 0)
            {
                throw Error($"{label}: shape {FormatShape([.. shape, dim])} has a negative dimension");
            }
            shape.Add(dim);
        }
        return [.. shape];
    }

    private static long? ReadInputParameters(ref Utf8JsonReader reader, string label)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"{label}: 'parameters' must be an object");
        }
        long? binaryDataSize = null;
        while (ReadProperty(ref reader))
        {
            if (reader.ValueTextEquals("binary_data_size"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var size) || size < 0)
                {
                    throw Error($"{label}: parameters.binary_data_size must be a non-negative integer, found {Describe(ref reader)}");
                }
                binaryDataSize = size;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return binaryDataSize;
    }

    private static List<OutputHeader> ReadOutputs(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Error("'outputs' must be an array");
        }
        var outputs = new List<OutputHeader>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var label = $"outputs[{outputs.Count}]";
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error($"{label} must be an object");
            }
            string? name = null;
            bool? binary = null;
            while (ReadProperty(ref reader))
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    name = reader.TokenType == JsonTokenType.String
                        ? ReadString(ref reader, $"the name of {label}")
                        : throw Error($"the name of {label} must be a string");
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    binary = ReadOutputParameters(ref reader, label);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            if (string.IsNullOrEmpty(name))
            {
                throw Error($"{label} has no 'name'");
            }
            if (!names.Add(name))
            {
                throw Error($"output '{name}' is requested more than once");
            }
            outputs.Add(new OutputHeader(name, binary));
        }
        return outputs;
    }

    private static bool? ReadOutputParameters(ref Utf8JsonReader reader, string label)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error($"{label}: 'parameters' must be an object");
        }
        bool? binary = null;
        while (ReadProperty(ref reader))
        {
            if (reader.ValueTextEquals("binary_data"u8))
            {
                reader.Read();
                binary = ReadBool(ref reader, $"{label}: parameters.binary_data");
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return binary;
    }

    private static IReadOnlyDictionary<string, bool>? ResolveOutputBinary(RequestHeader header)
    {
        if (header.Outputs is null)
        {
            return null;
        }
        var resolved = new Dictionary<string, bool>(header.Outputs.Count, StringComparer.Ordinal);
        foreach (var output in header.Outputs)
        {
            resolved[output.Name] = output.Binary ?? header.BinaryOutputDefault;
        }
        return resolved;
    }

    private static Tensor[] AttachBinaryData(List<InputHeader> inputs, ReadOnlyMemory<byte> binary, bool hasHeaderLength)
    {
        var tensors = new Tensor[inputs.Count];
        var offset = 0L;
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            var data = input.Data;
            if (data is null)
            {
                if (!hasHeaderLength)
                {
                    throw Error($"{input.Label} has parameters.binary_data_size but the request has no Inference-Header-Content-Length header");
                }
                var size = input.BinaryDataSize!.Value;
                var count = ElementCount(input, out var type);
                if (size != count * type.ByteSize())
                {
                    throw Error($"{input.Label}: parameters.binary_data_size is {size} but shape {FormatShape(input.Shape!)} of {input.Datatype} needs {count * type.ByteSize()} bytes");
                }
                if (size > binary.Length - offset)
                {
                    throw Error($"{input.Label}: binary data of {size} bytes runs past the end of the body ({binary.Length - offset} bytes left)");
                }
                data = binary.Slice((int)offset, (int)size).ToArray();
                offset += size;
            }
            tensors[i] = new Tensor(input.Name!, input.Type ?? TypeOf(input), input.Shape!, data);
        }
        if (offset != binary.Length)
        {
            throw Error($"the binary inputs take {offset} bytes but {binary.Length} bytes follow the JSON header");
        }
        return tensors;
    }

    /// <summary>Element count of an input's shape, checked so that its buffer can be allocated.</summary>
    private static long ElementCount(InputHeader input, out ElementType type)
    {
        type = TypeOf(input);
        var shape = input.Shape!;
        if (shape.Contains(0))
        {
            return 0;
        }
        long count = 1;
        var limit = Array.MaxLength / type.ByteSize();
        foreach (var dim in shape)
        {
            // Dividing first keeps the product from overflowing long.
            if (dim > limit / count)
            {
                throw Error($"{input.Label}: shape {FormatShape(shape)} of {input.Datatype} is too large (at most {Array.MaxLength} bytes per tensor)");
            }
            count *= dim;
        }
        return count;
    }

    /// <summary>The input's element type, parsed from its datatype string the first time it is asked for.</summary>
    private static ElementType TypeOf(InputHeader input)
    {
        if (input.Type is { } known)
        {
            return known;
        }
        if (!ElementTypes.TryParseKServeName(input.Datatype, out var type))
        {
            throw input.Datatype is "BYTES" or "BF16"
                ? Error($"{input.Label}: datatype {input.Datatype} is not supported by this server (supported: {SupportedDatatypes})")
                : Error($"{input.Label}: unknown datatype '{input.Datatype}' (supported: {SupportedDatatypes})");
        }
        input.Type = type;
        return type;
    }

    private static byte[] DecodeData(ref Utf8JsonReader reader, InputHeader input, int jsonLength)
    {
        var count = ElementCount(input, out var type);
        return type switch
        {
            ElementType.Bool => DecodeData<BoolCodec>(ref reader, input, count, jsonLength),
            ElementType.UInt8 => DecodeData<UInt8Codec>(ref reader, input, count, jsonLength),
            ElementType.UInt16 => DecodeData<UInt16Codec>(ref reader, input, count, jsonLength),
            ElementType.UInt32 => DecodeData<UInt32Codec>(ref reader, input, count, jsonLength),
            ElementType.UInt64 => DecodeData<UInt64Codec>(ref reader, input, count, jsonLength),
            ElementType.Int8 => DecodeData<Int8Codec>(ref reader, input, count, jsonLength),
            ElementType.Int16 => DecodeData<Int16Codec>(ref reader, input, count, jsonLength),
            ElementType.Int32 => DecodeData<Int32Codec>(ref reader, input, count, jsonLength),
            ElementType.Int64 => DecodeData<Int64Codec>(ref reader, input, count, jsonLength),
            ElementType.Fp16 => DecodeData<Fp16Codec>(ref reader, input, count, jsonLength),
            ElementType.Fp32 => DecodeData<Fp32Codec>(ref reader, input, count, jsonLength),
            ElementType.Fp64 => DecodeData<Fp64Codec>(ref reader, input, count, jsonLength),
            _ => throw Error($"{input.Label}: unknown datatype '{input.Datatype}'"),
        };
    }

    /// <summary>Flattens a (possibly nested) data array row-major into little-endian bytes; the reader starts on its '['.</summary>
    private static byte[] DecodeData<TCodec>(ref Utf8JsonReader reader, InputHeader input, long count, int jsonLength)
        where TCodec : struct, IElementCodec
    {
        var size = TCodec.Size;
        // Every element takes at least one byte of JSON: a shape claiming more than that is only counted, never allocated.
        var buffer = count <= jsonLength ? new byte[count * size] : null;
        var filled = buffer is null ? 0 : count;
        Span<byte> scratch = stackalloc byte[8];
        long index = 0;
        var depth = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                    depth++;
                    break;
                case JsonTokenType.EndArray when depth == 0:
                    if (index != count || buffer is null)
                    {
                        throw Error($"{input.Label}: expected {count} elements for shape {FormatShape(input.Shape!)}, got {index}");
                    }
                    return buffer;
                case JsonTokenType.EndArray:
                    depth--;
                    break;
                default:
                    var destination = index < filled ? buffer.AsSpan((int)(index * size), size) : scratch[..size];
                    if (!TCodec.TryRead(ref reader, destination))
                    {
                        throw Error($"{input.Label}: element {index} is {Describe(ref reader)}, but {input.Datatype} takes {TCodec.Expected}");
                    }
                    index++;
                    break;
            }
        }
        throw Error($"{input.Label}: 'data' is not closed");
    }

    /// <summary>Moves to the next property name of the current object; false at its end.</summary>
    private static bool ReadProperty(ref Utf8JsonReader reader) => reader.Read() && reader.TokenType == JsonTokenType.PropertyName;

    private static bool ReadBool(ref Utf8JsonReader reader, string what) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Error($"{what} must be true or false, found {Describe(ref reader)}"),
    };

    private static string ReadString(ref Utf8JsonReader reader, string what)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new KServeProtocolException($"{what} is not valid UTF-8", e);
        }
    }

    /// <summary>A token as the user wrote it, shortened, for error messages.</summary>
    private static string Describe(ref Utf8JsonReader reader)
    {
        const int MaxText = 40;
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject: return "an object";
            case JsonTokenType.StartArray: return "an array";
            case JsonTokenType.True: return "true";
            case JsonTokenType.False: return "false";
            case JsonTokenType.Null: return "null";
        }
        var raw = reader.ValueSpan;
        var text = Encoding.UTF8.GetString(raw[..Math.Min(raw.Length, MaxText)]) + (raw.Length > MaxText ? "..." : "");
        return reader.TokenType == JsonTokenType.String ? $"the string \"{text}\"" : text;
    }

    private static string FormatShape(long[] shape) => $"[{string.Join(',', shape)}]";

    private static readonly string SupportedDatatypes =
        string.Join(", ", Enum.GetValues<ElementType>().Select(t => t.ToKServeName()));

    private static KServeProtocolException Error(string message) => new(message);

    /// <summary>Which known properties of one object have been seen, to reject duplicates.</summary>
    private struct SeenProperties
    {
        private int seen;

        public void Check(int bit, string property, string owner)
        {
            if ((seen & (1 << bit)) != 0)
            {
                throw Error($"{owner} has '{property}' more than once");
            }
            seen |= 1 << bit;
        }
    }
}
