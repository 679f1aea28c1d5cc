using static OrleansServe.Engine.UnitTests.Planning.EngineParity;
using static OrleansServe.Onnx.OnnxAttribute;

namespace OrleansServe.Engine.UnitTests.Planning;

/// <summary>Every operator on the ILGPU CPU accelerator against ONNX Runtime on seeded random inputs, edge shapes and broadcasts included.</summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class OperatorParityTests(IlgpuCpuDevice device)
{
    /// <summary>One node over fp32 inputs of the given shapes (constants become initializers), output "y".</summary>
    private void AssertNode(string op, (string Name, long[] Shape, bool Constant)[] inputs, long[] outputShape, params global::OrleansServe.Onnx.Proto.Attribute[] attributes) =>
        AssertNodeWith(op, inputs, [], outputShape, attributes);

    private void AssertNodeWith(string op, (string Name, long[] Shape, bool Constant)[] inputs, (string Name, long[] Dims, long[] Values)[] integerConstants, long[] outputShape, params global::OrleansServe.Onnx.Proto.Attribute[] attributes)
    {
        var graph = new OnnxGraphBuilder(op);
        var feeds = new List<Engine.Execution.NamedTensor>();
        var names = new List<string>();
        var seed = 1;
        foreach (var (name, shape, constant) in inputs)
        {
            var values = Random(seed++, shape.Aggregate(1L, (p, d) => p * d));
            if (constant)
            {
                graph.AddInitializer(name, shape, values);
            }
            else
            {
                graph.AddInput(name, ElementType.Fp32, [.. shape.Select(d => (Dim)d)]);
                feeds.Add(Fp32(name, values, shape));
            }
            names.Add(name);
        }
        foreach (var (name, dims, values) in integerConstants)
        {
            graph.AddInitializer(name, dims, values);
            names.Add(name);
        }
        graph.AddNode(op, names, ["y"], attributes);
        graph.AddOutput("y", ElementType.Fp32, [.. outputShape.Select(d => (Dim)d)]);
        AssertMatches(device.Worker, graph.ToBytes(), feeds);
    }

    [Theory]
    [InlineData("Add")]
    [InlineData("Sub")]
    [InlineData("Mul")]
    [InlineData("Div")]
    public void Binary_operators_broadcast_like_numpy(string op)
    {
        AssertNode(op, [("a", [2, 3, 4], false), ("b", [2, 3, 4], false)], [2, 3, 4]);
        AssertNode(op, [("a", [2, 3, 4], false), ("b", [4], true)], [2, 3, 4]);
        AssertNode(op, [("a", [2, 1, 4], false), ("b", [3, 1], false)], [2, 3, 4]);
        AssertNode(op, [("a", [1], true), ("b", [2, 5], false)], [2, 5]);
    }

    [Fact]
    public void Pow_and_sqrt_match()
    {
        var graph = new OnnxGraphBuilder("pow");
        graph.AddInput("x", ElementType.Fp32, 3, 4);
        var exponent = graph.AddInitializer("e", [1], [2f]);
        var abs = graph.AddNode("Pow", ["x", exponent]);
        graph.AddNode("Sqrt", [abs], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 3, 4);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(3, 12), 3, 4)]);
    }

    [Theory]
    [InlineData("Relu")]
    [InlineData("Sigmoid")]
    [InlineData("Tanh")]
    [InlineData("Erf")]
    [InlineData("HardSwish")]
    public void Unary_operators_match(string op) => AssertNode(op, [("x", [2, 3, 5], false)], [2, 3, 5]);

    [Fact]
    public void HardSigmoid_uses_alpha_and_beta() =>
        AssertNode("HardSigmoid", [("x", [4, 5], false)], [4, 5], Float("alpha", 0.3f), Float("beta", 0.4f));

    [Fact]
    public void Clip_takes_bounds_from_inputs()
    {
        var graph = new OnnxGraphBuilder("clip");
        graph.AddInput("x", ElementType.Fp32, 2, 6);
        var min = graph.AddInitializer("min", [], [-0.25f]);
        var max = graph.AddInitializer("max", [], [0.5f]);
        graph.AddNode("Clip", ["x", min, max], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 2, 6);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(4, 12), 2, 6)]);
    }

    [Theory]
    [InlineData(1, 1, 0, 1, 1)]
    [InlineData(3, 1, 1, 1, 1)]
    [InlineData(3, 2, 1, 1, 1)]
    [InlineData(3, 1, 2, 2, 1)]
    [InlineData(3, 2, 1, 1, 2)]
    [InlineData(3, 1, 1, 1, 4)]
    [InlineData(1, 2, 0, 1, 1)]
    public void Conv_matches_for_strides_pads_dilations_and_groups(int kernel, int stride, int pad, int dilation, int groups)
    {
        long inChannels = 4, outChannels = 8, size = 7;
        var graph = new OnnxGraphBuilder("conv");
        graph.AddInput("x", ElementType.Fp32, 2, inChannels, size, size);
        var w = graph.AddInitializer("w", [outChannels, inChannels / groups, kernel, kernel], Random(5, outChannels * (inChannels / groups) * kernel * kernel));
        var b = graph.AddInitializer("b", [outChannels], Random(6, outChannels));
        graph.AddNode("Conv", ["x", w, b], ["y"], Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", pad, pad, pad, pad), Ints("dilations", dilation, dilation), Int("group", groups));
        var output = (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
        graph.AddOutput("y", ElementType.Fp32, 2, outChannels, output, output);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(7, 2 * inChannels * size * size), 2, inChannels, size, size)]);
    }

    [Fact]
    public void Depthwise_conv_with_asymmetric_padding_matches()
    {
        var graph = new OnnxGraphBuilder("depthwise");
        graph.AddInput("x", ElementType.Fp32, 1, 6, 8, 8);
        var w = graph.AddInitializer("w", [6, 1, 3, 3], Random(8, 54));
        graph.AddNode("Conv", ["x", w], ["y"], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 0, 0, 1, 1), Int("group", 6));
        graph.AddOutput("y", ElementType.Fp32, 1, 6, 4, 4);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(9, 6 * 64), 1, 6, 8, 8)]);
    }

    [Fact]
    public void Conv_batch_norm_relu_is_folded_and_fused_without_changing_the_result()
    {
        var graph = new OnnxGraphBuilder("conv_bn_relu");
        graph.AddInput("x", ElementType.Fp32, 2, 3, 6, 6);
        var w = graph.AddInitializer("w", [5, 3, 3, 3], Random(10, 135));
        var conv = graph.AddNode("Conv", ["x", w], Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1));
        var bn = graph.AddNode("BatchNormalization", [conv,
            graph.AddInitializer("g", [5], Random(11, 5, 0.5f, 1.5f)),
            graph.AddInitializer("beta", [5], Random(12, 5)),
            graph.AddInitializer("m", [5], Random(13, 5)),
            graph.AddInitializer("v", [5], Random(14, 5, 0.5f, 2f))], Float("epsilon", 1e-3f));
        graph.AddNode("Relu", [bn], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 2, 5, 6, 6);
        var model = graph.ToBytes();
        var optimized = Engine.Gpu.Planning.GraphRewrites.Optimize(global::OrleansServe.Onnx.OnnxGraph.Read(model));
        Assert.Equal(["Conv"], optimized.Nodes.Select(n => n.OpType));
        AssertMatches(device.Worker, model, [Fp32("x", Random(15, 216), 2, 3, 6, 6)]);
    }

    [Fact]
    public void Standalone_batch_norm_matches()
    {
        var graph = new OnnxGraphBuilder("bn");
        graph.AddInput("x", ElementType.Fp32, 2, 3, 4);
        graph.AddNode("BatchNormalization", ["x",
            graph.AddInitializer("g", [3], Random(11, 3, 0.5f, 1.5f)),
            graph.AddInitializer("beta", [3], Random(12, 3)),
            graph.AddInitializer("m", [3], Random(13, 3)),
            graph.AddInitializer("v", [3], Random(14, 3, 0.5f, 2f))], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 2, 3, 4);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(15, 24), 2, 3, 4)]);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Gemm_matches_with_transposes_and_bias(bool transA, bool transB)
    {
        long m = 5, k = 7, n = 6;
        AssertNode("Gemm",
            [("a", transA ? [k, m] : [m, k], false), ("b", transB ? [n, k] : [k, n], true), ("c", [n], true)],
            [m, n], Int("transA", transA ? 1 : 0), Int("transB", transB ? 1 : 0));
    }

    [Fact]
    public void Gemm_with_full_bias_alpha_and_beta_matches() =>
        AssertNode("Gemm", [("a", [3, 4], false), ("b", [4, 5], false), ("c", [3, 1], true)], [3, 5], Float("alpha", 0.5f), Float("beta", 2f));

    [Theory]
    [InlineData(new long[] { 3, 4 }, new long[] { 4, 5 }, new long[] { 3, 5 })]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 4, 5 }, new long[] { 2, 3, 5 })]
    [InlineData(new long[] { 2, 3, 3, 4 }, new long[] { 2, 3, 4, 5 }, new long[] { 2, 3, 3, 5 })]
    [InlineData(new long[] { 3, 4 }, new long[] { 2, 4, 5 }, new long[] { 2, 3, 5 })]
    [InlineData(new long[] { 4 }, new long[] { 4, 5 }, new long[] { 5 })]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 4 }, new long[] { 2, 3 })]
    public void MatMul_matches_batched_and_promoted_shapes(long[] a, long[] b, long[] y) =>
        AssertNode("MatMul", [("a", a, false), ("b", b, false)], y);
}
