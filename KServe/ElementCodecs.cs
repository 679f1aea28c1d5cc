using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;

namespace OrleansServe.KServe;

/// <summary>
/// How one element type travels between a JSON value and its little-endian bytes. Static abstract members let
/// the decode and encode loops be specialised per type by the JIT: no per-element boxing or type switch.
/// </summary>
internal interface IElementCodec
{
    /// <summary>Bytes one element takes in the raw buffer.</summary>
    static abstract int Size { get; }

    /// <summary>What a valid JSON value for this type looks like, for error messages.</summary>
    static abstract string Expected { get; }

    /// <summary>Reads the value token under <paramref name="reader"/>; false when it is of the wrong kind or out of range.</summary>
    static abstract bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination);

    static abstract void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source);
}

internal readonly struct BoolCodec : IElementCodec
{
    public static int Size => 1;
    public static string Expected => "true or false";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.True: destination[0] = 1; return true;
            case JsonTokenType.False: destination[0] = 0; return true;
            default: return false;
        }
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) => writer.WriteBooleanValue(source[0] != 0);
}

internal readonly struct UInt8Codec : IElementCodec
{
    public static int Size => 1;
    public static string Expected => "integers from 0 to 255";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetByte(out var value))
        {
            return false;
        }
        destination[0] = value;
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) => writer.WriteNumberValue(source[0]);
}

internal readonly struct Int8Codec : IElementCodec
{
    public static int Size => 1;
    public static string Expected => "integers from -128 to 127";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetSByte(out var value))
        {
            return false;
        }
        destination[0] = unchecked((byte)value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) => writer.WriteNumberValue(unchecked((sbyte)source[0]));
}

internal readonly struct UInt16Codec : IElementCodec
{
    public static int Size => 2;
    public static string Expected => "integers from 0 to 65535";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt16(out var value))
        {
            return false;
        }
        BinaryPrimitives.WriteUInt16LittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(source));
}

internal readonly struct Int16Codec : IElementCodec
{
    public static int Size => 2;
    public static string Expected => "integers from -32768 to 32767";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt16(out var value))
        {
            return false;
        }
        BinaryPrimitives.WriteInt16LittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(source));
}

internal readonly struct UInt32Codec : IElementCodec
{
    public static int Size => 4;
    public static string Expected => "integers from 0 to 4294967295";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt32(out var value))
        {
            return false;
        }
        BinaryPrimitives.WriteUInt32LittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(source));
}

internal readonly struct Int32Codec : IElementCodec
{
    public static int Size => 4;
    public static string Expected => "integers from -2147483648 to 2147483647";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var value))
        {
            return false;
        }
        BinaryPrimitives.WriteInt32LittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(source));
}

internal readonly struct UInt64Codec : IElementCodec
{
    public static int Size => 8;
    public static string Expected => "integers from 0 to 18446744073709551615";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out var value))
        {
            return false;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(source));
}

internal readonly struct Int64Codec : IElementCodec
{
    public static int Size => 8;
    public static string Expected => "integers from -9223372036854775808 to 9223372036854775807";

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
        {
            return false;
        }
        BinaryPrimitives.WriteInt64LittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source) =>
        writer.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(source));
}

internal readonly struct Fp16Codec : IElementCodec
{
    public static int Size => 2;
    public static string Expected => FloatLiterals.Expected("FP16");

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        Half value;
        if (reader.TokenType == JsonTokenType.Number)
        {
            // Straight from double: one rounding step, so every written FP16 reads back to the same bits.
            if (!reader.TryGetDouble(out var number))
            {
                return false;
            }
            value = (Half)number;
            if (!Half.IsFinite(value))
            {
                return false;
            }
        }
        else if (FloatLiterals.TryRead(ref reader, out var literal))
        {
            value = (Half)literal;
        }
        else
        {
            return false;
        }
        BinaryPrimitives.WriteHalfLittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source)
    {
        var value = BinaryPrimitives.ReadHalfLittleEndian(source);
        if (!Half.IsFinite(value))
        {
            FloatLiterals.Write(writer, (double)value);
            return;
        }
        // The exact value widened to float: Half's own shortest text ("65500" for 65504) misleads readers that parse wider types.
        writer.WriteNumberValue((float)value);
    }
}

internal readonly struct Fp32Codec : IElementCodec
{
    public static int Size => 4;
    public static string Expected => FloatLiterals.Expected("FP32");

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        float value;
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (!reader.TryGetSingle(out value) || !float.IsFinite(value))
            {
                return false;
            }
        }
        else if (FloatLiterals.TryRead(ref reader, out var literal))
        {
            value = (float)literal;
        }
        else
        {
            return false;
        }
        BinaryPrimitives.WriteSingleLittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source)
    {
        var value = BinaryPrimitives.ReadSingleLittleEndian(source);
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            FloatLiterals.Write(writer, value);
        }
    }
}

internal readonly struct Fp64Codec : IElementCodec
{
    public static int Size => 8;
    public static string Expected => FloatLiterals.Expected("FP64");

    public static bool TryRead(ref Utf8JsonReader reader, scoped Span<byte> destination)
    {
        double value;
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (!reader.TryGetDouble(out value) || !double.IsFinite(value))
            {
                return false;
            }
        }
        else if (!FloatLiterals.TryRead(ref reader, out value))
        {
            return false;
        }
        BinaryPrimitives.WriteDoubleLittleEndian(destination, value);
        return true;
    }

    public static void Write(Utf8JsonWriter writer, ReadOnlySpan<byte> source)
    {
        var value = BinaryPrimitives.ReadDoubleLittleEndian(source);
        if (double.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            FloatLiterals.Write(writer, value);
        }
    }
}

/// <summary>
/// JSON has no NaN or infinities, so floating-point tensors carry them as the strings "NaN", "Infinity" and
/// "-Infinity" (the spelling System.Text.Json uses for named floating-point literals), both ways.
/// </summary>
internal static class FloatLiterals
{
    public static string Expected(string datatype) =>
        $"finite numbers within the {datatype} range, or the strings \"NaN\", \"Infinity\", \"-Infinity\"";

    public static bool TryRead(ref Utf8JsonReader reader, out double value)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            if (reader.ValueTextEquals("NaN"u8))
            {
                value = double.NaN;
                return true;
            }
            if (reader.ValueTextEquals("Infinity"u8))
            {
                value = double.PositiveInfinity;
                return true;
            }
            if (reader.ValueTextEquals("-Infinity"u8))
            {
                value = double.NegativeInfinity;
                return true;
            }
        }
        value = 0;
        return false;
    }

    public static void Write(Utf8JsonWriter writer, double nonFinite)
    {
        if (double.IsNaN(nonFinite))
        {
            writer.WriteStringValue("NaN"u8);
        }
        else
        {
            writer.WriteStringValue(nonFinite > 0 ? "Infinity"u8 : "-Infinity"u8);
        }
    }
}
