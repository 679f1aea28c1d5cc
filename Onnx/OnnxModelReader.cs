using Google.Protobuf;
using OrleansServe.Onnx.Proto;
using OrleansServe.Tensors;

namespace OrleansServe.Onnx;

/// <summary>Reads what the server needs to know about an ONNX model without loading it into a runtime.</summary>
public static class OnnxModelReader
{
    /// <summary>Highest rank the server accepts for an input or output.</summary>
    public const int MaxRank = 8;

    /// <summary>
    /// The graph's inputs (leaving out initializers, which older exporters also list as inputs) and outputs.
    /// Dynamic dimensions (dim_param, no value, or -1) read as -1.
    /// </summary>
    /// <exception cref="InvalidModelException">The bytes are not an ONNX model the server can serve.</exception>
    public static ModelSignature ReadSignature(ReadOnlySpan<byte> onnxBytes)
    {
        var graph = Parse(onnxBytes).Graph;
        var initializers = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).Select(i => ToSignature(i, "input")).ToList();
        var outputs = graph.Output.Select(o => ToSignature(o, "output")).ToList();
        if (inputs.Count == 0)
        {
            throw new InvalidModelException("the model graph has no inputs");
        }
        if (outputs.Count == 0)
        {
            throw new InvalidModelException("the model graph has no outputs");
        }
        CheckUnique(inputs, "input");
        CheckUnique(outputs, "output");
        return new ModelSignature(inputs, outputs);
    }

    /// <summary>Elements in the model's floating-point initializers (its weights), counted from their shapes.</summary>
    /// <exception cref="InvalidModelException">The bytes are not an ONNX model.</exception>
    public static long CountParameters(ReadOnlySpan<byte> onnxBytes) =>
        Parse(onnxBytes).Graph.Initializer
            .Where(t => ElementTypes.TryFromOnnxCode(t.DataType, out var type) && type is ElementType.Fp16 or ElementType.Fp32 or ElementType.Fp64)
            .Sum(t => t.Dims.Aggregate(1L, (product, d) => product * d));

    private static Model Parse(ReadOnlySpan<byte> onnxBytes)
    {
        if (onnxBytes.IsEmpty)
        {
            throw new InvalidModelException("the model file is empty");
        }
        Model model;
        try
        {
            model = Model.Parser.ParseFrom(onnxBytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidModelException($"the model file is not a valid ONNX protobuf (corrupt or truncated): {e.Message}", e);
        }
        if (model.Graph is null)
        {
            throw new InvalidModelException("the model file has no graph (is it an ONNX model?)");
        }
        // Every real ONNX model imports an opset; a file without one is usually cut off after the graph.
        if (model.OpsetImport.Count == 0)
        {
            throw new InvalidModelException("the model declares no operator set (opset_import is empty); the file may be truncated");
        }
        return model;
    }

    private static TensorSignature ToSignature(ValueInfo value, string role)
    {
        if (string.IsNullOrEmpty(value.Name))
        {
            throw new InvalidModelException($"a graph {role} has no name");
        }
        if (value.Type?.TensorType is not { } tensorType)
        {
            throw new InvalidModelException($"{role} '{value.Name}' is not a tensor (sequences, maps and optionals are not supported)");
        }
        if (!ElementTypes.TryFromOnnxCode(tensorType.ElemType, out var elementType))
        {
            throw new InvalidModelException(
                $"{role} '{value.Name}' has element type {OnnxTypeName(tensorType.ElemType)}, which the server does not support");
        }
        if (tensorType.Shape is null)
        {
            throw new InvalidModelException($"{role} '{value.Name}' declares no shape (unknown rank)");
        }
        if (tensorType.Shape.Dim.Count > MaxRank)
        {
            throw new InvalidModelException($"{role} '{value.Name}' has rank {tensorType.Shape.Dim.Count}; at most {MaxRank} is supported");
        }
        var shape = tensorType.Shape.Dim.Select(d => ToDimension(d, value.Name, role)).ToArray();
        return new TensorSignature(value.Name, elementType, shape);
    }

    private static long ToDimension(Shape.Types.Dimension dim, string name, string role) => dim.ValueCase switch
    {
        Shape.Types.Dimension.ValueOneofCase.DimValue when dim.DimValue is >= -1 and <= int.MaxValue => dim.DimValue,
        Shape.Types.Dimension.ValueOneofCase.DimValue =>
            throw new InvalidModelException($"{role} '{name}' has an impossible dimension {dim.DimValue}"),
        _ => -1,
    };

    private static void CheckUnique(List<TensorSignature> tensors, string role)
    {
        var duplicate = tensors.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidModelException($"the graph declares {role} '{duplicate.Key}' more than once");
        }
    }

    /// <summary>The ONNX TensorProto.DataType name, for messages about types the server does not map.</summary>
    private static string OnnxTypeName(int code) => code switch
    {
        0 => "UNDEFINED",
        8 => "STRING",
        14 => "COMPLEX64",
        15 => "COMPLEX128",
        16 => "BFLOAT16",
        17 => "FLOAT8E4M3FN",
        18 => "FLOAT8E4M3FNUZ",
        19 => "FLOAT8E5M2",
        20 => "FLOAT8E5M2FNUZ",
        21 => "UINT4",
        22 => "INT4",
        _ when ElementTypes.TryFromOnnxCode(code, out var type) => type.ToKServeName(),
        _ => $"code {code}",
    };
}
