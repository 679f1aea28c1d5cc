using OrleansServe.Engine.Gpu.Kernels;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning.Operators;

/// <summary>The operators the engine implements, by ONNX op type (default domain).</summary>
internal static class OperatorRegistry
{
    private static readonly Dictionary<string, Operator> Operators = new(StringComparer.Ordinal)
    {
        ["Conv"] = new ConvOperator(),
        ["Gemm"] = new GemmOperator(),
        ["MatMul"] = new MatMulOperator(),
        ["Add"] = new BinaryOperator(BinaryOp.Add),
        ["Sub"] = new BinaryOperator(BinaryOp.Sub),
        ["Mul"] = new BinaryOperator(BinaryOp.Mul),
        ["Div"] = new BinaryOperator(BinaryOp.Div),
        ["Pow"] = new BinaryOperator(BinaryOp.Pow),
        ["Sqrt"] = new UnaryOperator(UnaryOp.Sqrt),
        ["Relu"] = new UnaryOperator(UnaryOp.Relu),
        ["Clip"] = new UnaryOperator(UnaryOp.Clip),
        ["Sigmoid"] = new UnaryOperator(UnaryOp.Sigmoid),
        ["Tanh"] = new UnaryOperator(UnaryOp.Tanh),
        ["Erf"] = new UnaryOperator(UnaryOp.Erf),
        ["Gelu"] = new GeluOperator(),
        ["HardSigmoid"] = new UnaryOperator(UnaryOp.HardSigmoid),
        ["HardSwish"] = new UnaryOperator(UnaryOp.HardSwish),
        ["MaxPool"] = new PoolOperator(max: true),
        ["AveragePool"] = new PoolOperator(max: false),
        ["GlobalAveragePool"] = new GlobalAveragePoolOperator(),
        ["BatchNormalization"] = new BatchNormOperator(),
        ["Flatten"] = new FlattenOperator(),
        ["Reshape"] = new ReshapeOperator(),
        ["Transpose"] = new TransposeOperator(),
        ["Concat"] = new ConcatOperator(),
        ["Split"] = new SplitOperator(),
        ["Slice"] = new SliceOperator(),
        ["Squeeze"] = new SqueezeOperator(),
        ["Unsqueeze"] = new UnsqueezeOperator(),
        ["Gather"] = new GatherOperator(),
        ["Softmax"] = new SoftmaxOperator(),
        ["LayerNormalization"] = new LayerNormOperator(),
        ["ReduceMean"] = new ReduceMeanOperator(),
        ["Constant"] = new ConstantOperator(),
        ["Identity"] = new IdentityOperator(),
        ["Dropout"] = new IdentityOperator(),
        ["Shape"] = new ShapeOperator(),
        ["Cast"] = new CastOperator(),
    };

    /// <summary>Op types the engine implements, sorted.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Operators.Keys.Order(StringComparer.Ordinal)];

    public static bool TryGet(GraphNode node, out Operator? op)
    {
        op = null;
        return node.Domain is "" or "ai.onnx" && Operators.TryGetValue(node.OpType, out op);
    }
}
