namespace OrleansServe.Tensors;

/// <summary>Element types a model input or output may have; names follow the KServe v2 datatypes.</summary>
public enum ElementType
{
    Bool,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Int8,
    Int16,
    Int32,
    Int64,
    Fp16,
    Fp32,
    Fp64,
}

/// <summary>Sizes and names of <see cref="ElementType"/> in the KServe and ONNX vocabularies.</summary>
public static class ElementTypes
{
    /// <summary>Bytes one element takes in a raw little-endian buffer.</summary>
    public static int ByteSize(this ElementType type) => type switch
    {
        ElementType.Bool or ElementType.UInt8 or ElementType.Int8 => 1,
        ElementType.UInt16 or ElementType.Int16 or ElementType.Fp16 => 2,
        ElementType.UInt32 or ElementType.Int32 or ElementType.Fp32 => 4,
        ElementType.UInt64 or ElementType.Int64 or ElementType.Fp64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>The KServe v2 datatype name, e.g. "FP32".</summary>
    public static string ToKServeName(this ElementType type) => type switch
    {
        ElementType.Bool => "BOOL",
        ElementType.UInt8 => "UINT8",
        ElementType.UInt16 => "UINT16",
        ElementType.UInt32 => "UINT32",
        ElementType.UInt64 => "UINT64",
        ElementType.Int8 => "INT8",
        ElementType.Int16 => "INT16",
        ElementType.Int32 => "INT32",
        ElementType.Int64 => "INT64",
        ElementType.Fp16 => "FP16",
        ElementType.Fp32 => "FP32",
        ElementType.Fp64 => "FP64",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>Parses a KServe v2 datatype name; false for names the server does not support (BYTES, BF16).</summary>
    public static bool TryParseKServeName(string? name, out ElementType type)
    {
        switch (name)
        {
            case "BOOL": type = ElementType.Bool; return true;
            case "UINT8": type = ElementType.UInt8; return true;
            case "UINT16": type = ElementType.UInt16; return true;
            case "UINT32": type = ElementType.UInt32; return true;
            case "UINT64": type = ElementType.UInt64; return true;
            case "INT8": type = ElementType.Int8; return true;
            case "INT16": type = ElementType.Int16; return true;
            case "INT32": type = ElementType.Int32; return true;
            case "INT64": type = ElementType.Int64; return true;
            case "FP16": type = ElementType.Fp16; return true;
            case "FP32": type = ElementType.Fp32; return true;
            case "FP64": type = ElementType.Fp64; return true;
            default: type = default; return false;
        }
    }

    /// <summary>The ONNX TensorProto.DataType code.</summary>
    public static int ToOnnxCode(this ElementType type) => type switch
    {
        ElementType.Fp32 => 1,
        ElementType.UInt8 => 2,
        ElementType.Int8 => 3,
        ElementType.UInt16 => 4,
        ElementType.Int16 => 5,
        ElementType.Int32 => 6,
        ElementType.Int64 => 7,
        ElementType.Bool => 9,
        ElementType.Fp16 => 10,
        ElementType.Fp64 => 11,
        ElementType.UInt32 => 12,
        ElementType.UInt64 => 13,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>Maps an ONNX TensorProto.DataType code; false for types the server does not serve (strings, complex, bfloat16).</summary>
    public static bool TryFromOnnxCode(int code, out ElementType type)
    {
        switch (code)
        {
            case 1: type = ElementType.Fp32; return true;
            case 2: type = ElementType.UInt8; return true;
            case 3: type = ElementType.Int8; return true;
            case 4: type = ElementType.UInt16; return true;
            case 5: type = ElementType.Int16; return true;
            case 6: type = ElementType.Int32; return true;
            case 7: type = ElementType.Int64; return true;
            case 9: type = ElementType.Bool; return true;
            case 10: type = ElementType.Fp16; return true;
            case 11: type = ElementType.Fp64; return true;
            case 12: type = ElementType.UInt32; return true;
            case 13: type = ElementType.UInt64; return true;
            default: type = default; return false;
        }
    }
}
