using System.Buffers;
using System.Text.Json;
using OrleansServe.Grains;
using OrleansServe.Tensors;

namespace OrleansServe.KServe;

/// <summary>
/// Writes an <see cref="InferenceResponse"/> as a KServe v2 REST infer response: JSON with flat <c>data</c> arrays,
/// or, for outputs the client asked to get as binary, the binary tensor extension (a JSON header giving each such
/// output's <c>parameters.binary_data_size</c>, followed by the raw little-endian bytes of those outputs in order).
/// </summary>
/// <remarks>
/// Floating-point NaN and infinities, which JSON cannot express as numbers, are written as the strings "NaN",
/// "Infinity" and "-Infinity"; <see cref="InferRequestParser"/> accepts the same. NaN payload bits are not kept in JSON.
/// </remarks>
public static class InferResponseWriter
{
    /// <summary>The HTTP header giving the length of the JSON part of a body that carries binary tensors.</summary>
    public const string InferenceHeaderContentLengthHeader = "Inference-Header-Content-Length";

    /// <summary>Content type of a response whose outputs are all in JSON.</summary>
    public const string JsonContentType = "application/json";

    /// <summary>Content type of a response with at least one binary output.</summary>
    public const string BinaryContentType = "application/octet-stream";

    [ThreadStatic]
    private static Utf8JsonWriter? cachedWriter;

    /// <summary>Writes the whole response body to <paramref name="destination"/>, encoding outputs as <paramref name="request"/> asked.</summary>
    /// <returns>The JSON header length for <see cref="InferenceHeaderContentLengthHeader"/>, or null when no output is binary.</returns>
    public static int? Write(IBufferWriter<byte> destination, InferenceResponse response, ParsedInferRequest request) =>
        Write(destination, response, request.BinaryOutputDefault, request.OutputBinary);

    /// <summary>Writes the whole response body to <paramref name="destination"/>.</summary>
    /// <param name="binaryOutputDefault">Whether outputs not in <paramref name="outputBinary"/> are written as binary.</param>
    /// <param name="outputBinary">Per output name, whether it is written as binary.</param>
    /// <returns>The JSON header length for <see cref="InferenceHeaderContentLengthHeader"/>, or null when no output is binary.</returns>
    /// <exception cref="ArgumentException">An output's datatype is not one the server serves, or its data does not match its shape.</exception>
    public static int? Write(
        IBufferWriter<byte> destination,
        InferenceResponse response,
        bool binaryOutputDefault = false,
        IReadOnlyDictionary<string, bool>? outputBinary = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var selection = new BinarySelection(binaryOutputDefault, outputBinary);
        var headerLength = WriteHeader(destination, response, selection);
        var anyBinary = false;
        foreach (var output in response.Outputs)
        {
            if (selection.IsBinary(output.Name))
            {
                destination.Write(output.Data);
                anyBinary = true;
            }
        }
        return anyBinary ? headerLength : null;
    }

    /// <summary>
    /// Encodes the response so that its content type, length and <see cref="InferenceHeaderContentLengthHeader"/> are
    /// known before any of the body is sent. Binary outputs are not copied: the result refers to the tensors' buffers.
    /// </summary>
    public static EncodedInferResponse Encode(InferenceResponse response, ParsedInferRequest request) =>
        Encode(response, request.BinaryOutputDefault, request.OutputBinary);

    /// <inheritdoc cref="Encode(InferenceResponse, ParsedInferRequest)"/>
    /// <exception cref="ArgumentException">An output's datatype is not one the server serves, or its data does not match its shape.</exception>
    public static EncodedInferResponse Encode(
        InferenceResponse response,
        bool binaryOutputDefault = false,
        IReadOnlyDictionary<string, bool>? outputBinary = null)
    {
        var selection = new BinarySelection(binaryOutputDefault, outputBinary);
        var header = new PooledBufferWriter();
        try
        {
            WriteHeader(header, response, selection);
            var binaryParts = response.Outputs.Where(o => selection.IsBinary(o.Name)).Select(o => o.Data).ToArray();
            return new EncodedInferResponse(header, binaryParts);
        }
        catch
        {
            header.Dispose();
            throw;
        }
    }

    /// <summary>Encodes the response and writes it to <paramref name="destination"/>.</summary>
    /// <returns>The JSON header length, or null when no output is binary.</returns>
    public static async Task<int?> WriteAsync(
        Stream destination,
        InferenceResponse response,
        bool binaryOutputDefault = false,
        IReadOnlyDictionary<string, bool>? outputBinary = null,
        CancellationToken cancellationToken = default)
    {
        using var encoded = Encode(response, binaryOutputDefault, outputBinary);
        await encoded.WriteToAsync(destination, cancellationToken);
        return encoded.InferenceHeaderContentLength;
    }

    /// <summary>Writes the JSON part; returns its length in bytes.</summary>
    private static int WriteHeader(IBufferWriter<byte> destination, InferenceResponse response, BinarySelection selection)
    {
        ArgumentNullException.ThrowIfNull(response);
        var types = ValidateOutputs(response);
        var writer = cachedWriter ?? new Utf8JsonWriter(destination);
        cachedWriter = null;
        writer.Reset(destination);
        try
        {
            writer.WriteStartObject();
            writer.WriteString("model_name"u8, response.ModelName);
            writer.WriteString("model_version"u8, response.ModelVersion);
            if (response.Id is not null)
            {
                writer.WriteString("id"u8, response.Id);
            }
            writer.WriteStartArray("outputs"u8);
            for (var i = 0; i < response.Outputs.Length; i++)
            {
                WriteTensor(writer, response.Outputs[i], types[i], selection.IsBinary(response.Outputs[i].Name));
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            return checked((int)writer.BytesCommitted);
        }
        finally
        {
            // Detach so the cached writer does not keep the caller's buffer alive.
            writer.Reset(DetachedBufferWriter.Instance);
            cachedWriter = writer;
        }
    }

    /// <summary>
    /// One tensor of a request or response: name, datatype, shape, and either its data as JSON or, when
    /// <paramref name="binary"/>, the size of the raw bytes that follow the JSON part.
    /// </summary>
    internal static void WriteTensor(Utf8JsonWriter writer, Tensor tensor, ElementType type, bool binary)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, tensor.Name);
        writer.WriteString("datatype"u8, type.ToKServeName());
        writer.WriteStartArray("shape"u8);
        foreach (var dim in tensor.Shape)
        {
            writer.WriteNumberValue(dim);
        }
        writer.WriteEndArray();
        if (binary)
        {
            writer.WriteStartObject("parameters"u8);
            writer.WriteNumber("binary_data_size"u8, tensor.Data.Length);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteStartArray("data"u8);
            WriteData(writer, type, tensor.Data);
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    /// <summary>Checks every tensor before anything is written, so a bad one never leaves half a body behind.</summary>
    internal static ElementType[] ValidateTensors(IReadOnlyList<Tensor> tensors, string paramName) =>
        [.. tensors.Select(t => Validate(t, paramName))];

    private static ElementType Validate(Tensor output, string paramName)
    {
        var type = output.ElementType;
        if (!Enum.IsDefined(type))
        {
            throw new ArgumentException($"tensor '{output.Name}' has element type {(int)type}, which the protocol does not carry", paramName);
        }
        if (output.Shape.Any(dim => dim < 0) || output.ElementCount * type.ByteSize() != output.Data.Length)
        {
            throw new ArgumentException(
                $"tensor '{output.Name}' has {output.Data.Length} bytes of data, which does not fit shape [{string.Join(',', output.Shape)}] of {type.ToKServeName()}",
                paramName);
        }
        return type;
    }

    /// <summary>Checks every output before anything is written, so a bad one never leaves half a body behind.</summary>
    private static ElementType[] ValidateOutputs(InferenceResponse response) => ValidateTensors(response.Outputs, nameof(response));

    private static void WriteData(Utf8JsonWriter writer, ElementType type, ReadOnlySpan<byte> data)
    {
        switch (type)
        {
            case ElementType.Bool: WriteData<BoolCodec>(writer, data); break;
            case ElementType.UInt8: WriteData<UInt8Codec>(writer, data); break;
            case ElementType.UInt16: WriteData<UInt16Codec>(writer, data); break;
            case ElementType.UInt32: WriteData<UInt32Codec>(writer, data); break;
            case ElementType.UInt64: WriteData<UInt64Codec>(writer, data); break;
            case ElementType.Int8: WriteData<Int8Codec>(writer, data); break;
            case ElementType.Int16: WriteData<Int16Codec>(writer, data); break;
            case ElementType.Int32: WriteData<Int32Codec>(writer, data); break;
            case ElementType.Int64: WriteData<Int64Codec>(writer, data); break;
            case ElementType.Fp16: WriteData<Fp16Codec>(writer, data); break;
            case ElementType.Fp32: WriteData<Fp32Codec>(writer, data); break;
            case ElementType.Fp64: WriteData<Fp64Codec>(writer, data); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type");
        }
    }

    private static void WriteData<TCodec>(Utf8JsonWriter writer, ReadOnlySpan<byte> data)
        where TCodec : struct, IElementCodec
    {
        var size = TCodec.Size;
        for (var offset = 0; offset < data.Length; offset += size)
        {
            TCodec.Write(writer, data.Slice(offset, size));
        }
    }

    private readonly record struct BinarySelection(bool Default, IReadOnlyDictionary<string, bool>? PerOutput)
    {
        public bool IsBinary(string outputName) =>
            PerOutput is not null && PerOutput.TryGetValue(outputName, out var binary) ? binary : Default;
    }
}

/// <summary>
/// An infer response body ready to send: the JSON header in a pooled buffer and the binary outputs by reference.
/// Dispose it once written to return the buffer.
/// </summary>
public sealed class EncodedInferResponse : IDisposable
{
    private readonly byte[][] binaryParts;
    private PooledBufferWriter? header;

    internal EncodedInferResponse(PooledBufferWriter header, byte[][] binaryParts)
    {
        this.header = header;
        this.binaryParts = binaryParts;
        var length = (long)header.WrittenCount;
        foreach (var part in binaryParts)
        {
            length += part.Length;
        }
        ContentLength = length;
        InferenceHeaderContentLength = binaryParts.Length > 0 ? header.WrittenCount : null;
    }

    /// <summary>The JSON part of the body (the whole body when no output is binary).</summary>
    public ReadOnlyMemory<byte> Header => (header ?? throw new ObjectDisposedException(nameof(EncodedInferResponse))).WrittenMemory;

    /// <summary>Value for the <c>Inference-Header-Content-Length</c> header; null when no output is binary (send no header).</summary>
    public int? InferenceHeaderContentLength { get; }

    /// <summary><c>application/octet-stream</c> when the body carries binary outputs, else <c>application/json</c>.</summary>
    public string ContentType =>
        InferenceHeaderContentLength is null ? InferResponseWriter.JsonContentType : InferResponseWriter.BinaryContentType;

    /// <summary>Length of the whole body in bytes.</summary>
    public long ContentLength { get; }

    /// <summary>Copies the whole body to <paramref name="destination"/>.</summary>
    public void WriteTo(IBufferWriter<byte> destination)
    {
        destination.Write(Header.Span);
        foreach (var part in binaryParts)
        {
            destination.Write(part);
        }
    }

    /// <summary>Writes the whole body to <paramref name="destination"/>.</summary>
    public async Task WriteToAsync(Stream destination, CancellationToken cancellationToken = default)
    {
        await destination.WriteAsync(Header, cancellationToken);
        foreach (var part in binaryParts)
        {
            await destination.WriteAsync(part, cancellationToken);
        }
    }

    public void Dispose()
    {
        header?.Dispose();
        header = null;
    }
}

/// <summary>Where an idle cached <see cref="Utf8JsonWriter"/> points; it is always reset to a real destination before use.</summary>
internal sealed class DetachedBufferWriter : IBufferWriter<byte>
{
    public static readonly DetachedBufferWriter Instance = new();

    public void Advance(int count) => throw new InvalidOperationException("the JSON writer is not attached to a destination");

    public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("the JSON writer is not attached to a destination");

    public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("the JSON writer is not attached to a destination");
}

/// <summary>An <see cref="IBufferWriter{T}"/> over arrays rented from the shared pool.</summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);

    public int WrittenCount { get; private set; }

    public ReadOnlyMemory<byte> WrittenMemory => buffer.AsMemory(0, WrittenCount);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, buffer.Length - WrittenCount);
        WrittenCount += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        // Reserve first: it may replace the buffer.
        var start = Reserve(sizeHint);
        return buffer.AsMemory(start);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        var start = Reserve(sizeHint);
        return buffer.AsSpan(start);
    }

    public void Dispose()
    {
        var rented = buffer;
        buffer = [];
        WrittenCount = 0;
        if (rented.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private int Reserve(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (buffer.Length - WrittenCount < needed)
        {
            var grown = ArrayPool<byte>.Shared.Rent(checked(Math.Max(buffer.Length * 2, WrittenCount + needed)));
            buffer.AsSpan(0, WrittenCount).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = grown;
        }
        return WrittenCount;
    }
}
