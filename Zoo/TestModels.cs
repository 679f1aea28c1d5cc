using OrleansServe.Onnx;
using OrleansServe.Tensors;

namespace OrleansServe.Zoo;

/// <summary>Tiny models with exactly known outputs, for tests of the serving path.</summary>
public static class TestModels
{
    /// <summary>The inputs of <see cref="TypedIdentity"/>: one per supported wire datatype, each [batch, 4].</summary>
    public static IReadOnlyList<(string Name, ElementType Type)> TypedIdentityInputs { get; } =
    [
        ("fp32", ElementType.Fp32),
        ("fp16", ElementType.Fp16),
        ("int64", ElementType.Int64),
        ("int32", ElementType.Int32),
        ("int8", ElementType.Int8),
        ("uint8", ElementType.UInt8),
        ("bool", ElementType.Bool),
    ];

    /// <summary>Returns each input unchanged: input "fp32" comes back as "fp32_out", and so on for every datatype.</summary>
    public static byte[] TypedIdentity()
    {
        var graph = new OnnxGraphBuilder("typed_identity");
        foreach (var (name, type) in TypedIdentityInputs)
        {
            graph.AddInput(name, type, "batch", 4);
            graph.AddNode("Identity", [name], [$"{name}_out"]);
            graph.AddOutput($"{name}_out", type, "batch", 4);
        }
        return graph.ToBytes();
    }

    /// <summary>y = x + c, with x and y FP32 [batch, 3].</summary>
    public static byte[] AddConstant(float c)
    {
        var graph = new OnnxGraphBuilder("add_constant");
        graph.AddInput("x", ElementType.Fp32, "batch", 3);
        var constant = graph.AddInitializer("c", [1], [c]);
        graph.AddNode("Add", ["x", constant], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, "batch", 3);
        return graph.ToBytes();
    }

    /// <summary>y = Relu(x) on a fixed FP32 [2, 3] shape: a model that cannot be batched.</summary>
    public static byte[] FixedShape()
    {
        var graph = new OnnxGraphBuilder("fixed_shape");
        graph.AddInput("x", ElementType.Fp32, 2, 3);
        graph.AddNode("Relu", ["x"], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 2, 3);
        return graph.ToBytes();
    }
}
