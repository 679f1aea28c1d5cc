using System.Buffers.Binary;
using OrleansServe.Onnx.Proto;
using OrleansServe.Tensors;

namespace OrleansServe.Onnx;

/// <summary>
/// A tensor held on the host by the planner: a weight, a constant, or a value folded at plan time.
/// Floating-point data is held as fp32 and integer data as int64, the two kinds the engine computes with.
/// </summary>
public sealed class HostTensor
{
    private HostTensor(int[] shape, float[]? floats, long[]? longs)
    {
        Shape = shape;
        Floats = floats;
        Longs = longs;
    }

    /// <summary>Dimensions, row-major.</summary>
    public int[] Shape { get; }

    /// <summary>The values when the tensor is floating point.</summary>
    public float[]? Floats { get; }

    /// <summary>The values when the tensor is integer (or bool).</summary>
    public long[]? Longs { get; }

    /// <summary>Whether the values are integers.</summary>
    public bool IsInteger => Longs is not null;

    /// <summary>Number of elements.</summary>
    public long ElementCount => Floats?.LongLength ?? Longs!.LongLength;

    public static HostTensor OfFloats(int[] shape, float[] values) => new(CheckCount(shape, values.LongLength), values, null);

    public static HostTensor OfLongs(int[] shape, long[] values) => new(CheckCount(shape, values.LongLength), null, values);

    /// <summary>The values as doubles, whatever their kind.</summary>
    public double this[long index] => Floats is { } f ? f[index] : Longs![index];

    /// <summary>The same values with another shape of the same element count.</summary>
    public HostTensor Reshaped(int[] shape) => new(CheckCount(shape, ElementCount), Floats, Longs);

    /// <summary>The values as floats (integers converted).</summary>
    public float[] ToFloats() => Floats ?? Array.ConvertAll(Longs!, v => (float)v);

    /// <summary>The values as int64 (floats truncated toward zero).</summary>
    public long[] ToLongs() => Longs ?? Array.ConvertAll(Floats!, v => (long)v);

    /// <summary>Reads an ONNX initializer or constant attribute.</summary>
    /// <exception cref="ModelPlanException">The element type is one the engine does not compute with.</exception>
    public static HostTensor FromProto(Onnx.Proto.Tensor tensor, string owner)
    {
        var shape = tensor.Dims.Select(d => checked((int)d)).ToArray();
        var count = shape.Aggregate(1L, (product, d) => product * d);
        if (!ElementTypes.TryFromOnnxCode(tensor.DataType, out var type))
        {
            throw new ModelPlanException($"{owner}: tensor '{tensor.Name}' has unknown ONNX element type {tensor.DataType}");
        }
        if (tensor.DataLocation == 1)
        {
            throw new ModelPlanException($"{owner}: tensor '{tensor.Name}' keeps its data in an external file, which the engine does not read");
        }
        var raw = tensor.RawData.Span;
        switch (type)
        {
            case ElementType.Fp32:
                return OfFloats(shape, raw.IsEmpty ? [.. tensor.FloatData] : ReadRaw(raw, count, 4, b => BinaryPrimitives.ReadSingleLittleEndian(b)));
            case ElementType.Fp64:
                return OfFloats(shape, raw.IsEmpty
                    ? [.. tensor.DoubleData.Select(v => (float)v)]
                    : ReadRaw(raw, count, 8, b => (float)BinaryPrimitives.ReadDoubleLittleEndian(b)));
            case ElementType.Fp16:
                return OfFloats(shape, raw.IsEmpty
                    ? [.. tensor.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v))]
                    : ReadRaw(raw, count, 2, b => (float)BinaryPrimitives.ReadHalfLittleEndian(b)));
            case ElementType.Int64:
                return OfLongs(shape, raw.IsEmpty ? [.. tensor.Int64Data] : ReadRaw(raw, count, 8, b => BinaryPrimitives.ReadInt64LittleEndian(b)));
            case ElementType.Int32:
            case ElementType.Int16:
            case ElementType.Int8:
            case ElementType.UInt8:
            case ElementType.UInt16:
            case ElementType.Bool:
                var size = type.ByteSize();
                return OfLongs(shape, raw.IsEmpty ? [.. tensor.Int32Data.Select(v => (long)v)] : ReadRaw(raw, count, size, b => ReadSmallInteger(b, type)));
            default:
                throw new ModelPlanException($"{owner}: tensor '{tensor.Name}' has element type {type.ToKServeName()}, which the engine does not compute with");
        }
    }

    private static long ReadSmallInteger(ReadOnlySpan<byte> bytes, ElementType type) => type switch
    {
        ElementType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(bytes),
        ElementType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(bytes),
        ElementType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(bytes),
        ElementType.Int8 => (sbyte)bytes[0],
        _ => bytes[0],
    };

    private delegate T ElementReader<out T>(ReadOnlySpan<byte> bytes);

    private static T[] ReadRaw<T>(ReadOnlySpan<byte> raw, long count, int size, ElementReader<T> read)
    {
        if (raw.Length != count * size)
        {
            throw new ModelPlanException($"tensor data holds {raw.Length} bytes where its shape needs {count * size}");
        }
        var values = new T[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = read(raw.Slice(i * size, size));
        }
        return values;
    }

    private static int[] CheckCount(int[] shape, long count)
    {
        var expected = shape.Aggregate(1L, (product, d) => product * d);
        return expected == count
            ? shape
            : throw new ArgumentException($"shape [{string.Join(',', shape)}] holds {expected} elements but {count} values were given");
    }
}
