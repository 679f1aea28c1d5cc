using Google.Protobuf;
using static OrleansServe.Engine.UnitTests.Planning.EngineParity;
using static OrleansServe.Onnx.OnnxAttribute;

namespace OrleansServe.Engine.UnitTests.Planning;

/// <summary>Pooling, normalization, reduction and data-movement operators against ONNX Runtime.</summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class ShapeOperatorParityTests(IlgpuCpuDevice device)
{
    private static long Count(long[] shape) => shape.Aggregate(1L, (p, d) => p * d);

    /// <summary>y = op(x, integer constants...) with x fp32 of the given shape.</summary>
    private void AssertUnaryGraph(string op, long[] xShape, long[] yShape, (long[] Dims, long[] Values)[] integerInputs, params global::OrleansServe.Onnx.Proto.Attribute[] attributes)
    {
        var graph = new OnnxGraphBuilder(op);
        graph.AddInput("x", ElementType.Fp32, [.. xShape.Select(d => (Dim)d)]);
        List<string> inputs = ["x"];
        for (var i = 0; i < integerInputs.Length; i++)
        {
            inputs.Add(integerInputs[i].Values.Length == 0 && integerInputs[i].Dims.Length == 0 ? "" : graph.AddInitializer($"c{i}", integerInputs[i].Dims, integerInputs[i].Values));
        }
        graph.AddNode(op, inputs, ["y"], attributes);
        graph.AddOutput("y", ElementType.Fp32, [.. yShape.Select(d => (Dim)d)]);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(21, Count(xShape)), xShape)]);
    }

    private static (long[], long[]) Ints1(params long[] values) => ([values.Length], values);

    [Theory]
    [InlineData(true, 2, 2, 0, 0)]
    [InlineData(true, 3, 2, 1, 0)]
    [InlineData(true, 3, 2, 0, 1)]
    [InlineData(false, 2, 2, 0, 0)]
    [InlineData(false, 3, 2, 1, 0)]
    [InlineData(false, 3, 1, 1, 0)]
    public void Pools_match_with_pads_and_ceil_mode(bool max, int kernel, int stride, int pad, int ceil)
    {
        var size = 7L;
        var output = ceil == 1 ? (long)Math.Ceiling((size + 2.0 * pad - kernel) / stride) + 1 : (size + 2 * pad - kernel) / stride + 1;
        AssertUnaryGraph(max ? "MaxPool" : "AveragePool", [2, 3, size, size], [2, 3, output, output], [],
            Ints("kernel_shape", kernel, kernel), Ints("strides", stride, stride), Ints("pads", pad, pad, pad, pad), Int("ceil_mode", ceil));
    }

    [Fact]
    public void Average_pool_counting_padding_matches() =>
        AssertUnaryGraph("AveragePool", [1, 2, 5, 5], [1, 2, 5, 5], [], Ints("kernel_shape", 3, 3), Ints("pads", 1, 1, 1, 1), Int("count_include_pad", 1));

    [Fact]
    public void Global_average_pool_matches() => AssertUnaryGraph("GlobalAveragePool", [2, 3, 4, 5], [2, 3, 1, 1], []);

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(0)]
    public void Softmax_matches_on_any_axis(int axis) => AssertUnaryGraph("Softmax", [3, 4, 5], [3, 4, 5], [], Int("axis", axis));

    [Theory]
    [InlineData(8, -1)]
    [InlineData(37, -1)]
    [InlineData(3, 1)]
    [InlineData(1, -1)]
    public void Layer_normalization_matches_for_rows_shorter_longer_and_not_a_power_of_two(int cols, int axis)
    {
        var normalized = axis == 1 ? 3 * cols : cols;
        var graph = new OnnxGraphBuilder("ln");
        graph.AddInput("x", ElementType.Fp32, 2, 3, cols);
        graph.AddNode("LayerNormalization", ["x", graph.AddInitializer("s", [.. (axis == 1 ? new long[] { 3, cols } : [cols])], Random(22, normalized)), graph.AddInitializer("b", [.. (axis == 1 ? new long[] { 3, cols } : [cols])], Random(23, normalized))], ["y"], Int("axis", axis), Float("epsilon", 1e-5f));
        graph.AddOutput("y", ElementType.Fp32, 2, 3, cols);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(24, 6 * cols, -3, 3), 2, 3, cols)]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(33)]
    [InlineData(128)]
    public void Softmax_over_the_last_axis_matches_for_any_row_length(int cols) =>
        AssertUnaryGraph("Softmax", [4, cols], [4, cols], [], Int("axis", -1));

    [Theory]
    [InlineData(new long[] { -1 }, 1, new long[] { 2, 3, 1 })]
    [InlineData(new long[] { 1 }, 0, new long[] { 2, 4 })]
    [InlineData(new long[] { 0, 2 }, 1, new long[] { 1, 3, 1 })]
    [InlineData(new long[] { 2, 3 }, 0, new long[] { 2, 3 })]
    public void Reduce_mean_matches_for_any_axes(long[] axes, int keepDims, long[] yShape)
    {
        var xShape = axes.Contains(3) ? new long[] { 2, 3, 4, 5 } : [2, 3, 4];
        AssertUnaryGraph("ReduceMean", xShape, yShape, [], Ints("axes", axes), Int("keepdims", keepDims));
    }

    [Theory]
    [InlineData(new long[] { 1, 0, 2 }, new long[] { 3, 2, 4 })]
    [InlineData(new long[] { 2, 0, 1 }, new long[] { 4, 2, 3 })]
    [InlineData(new long[] { 0, 2, 1 }, new long[] { 2, 4, 3 })]
    public void Transpose_matches(long[] perm, long[] yShape) => AssertUnaryGraph("Transpose", [2, 3, 4], yShape, [], Ints("perm", perm));

    [Fact]
    public void Concat_of_device_and_constant_values_matches()
    {
        var graph = new OnnxGraphBuilder("concat");
        graph.AddInput("a", ElementType.Fp32, 2, 3, 4);
        graph.AddInput("b", ElementType.Fp32, 2, 1, 4);
        var c = graph.AddInitializer("c", [2, 2, 4], Random(25, 16));
        graph.AddNode("Concat", ["a", c, "b"], ["y"], Int("axis", 1));
        graph.AddOutput("y", ElementType.Fp32, 2, 6, 4);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("a", Random(26, 24), 2, 3, 4), Fp32("b", Random(27, 8), 2, 1, 4)]);
    }

    [Fact]
    public void Split_with_sizes_matches()
    {
        var graph = new OnnxGraphBuilder("split");
        graph.AddInput("x", ElementType.Fp32, 2, 7);
        var sizes = graph.AddInitializer("sizes", [3], [2L, 4L, 1L]);
        graph.AddNode("Split", ["x", sizes], ["y0", "y1", "y2"], Int("axis", 1));
        graph.AddOutput("y0", ElementType.Fp32, 2, 2);
        graph.AddOutput("y1", ElementType.Fp32, 2, 4);
        graph.AddOutput("y2", ElementType.Fp32, 2, 1);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(28, 14), 2, 7)]);
    }

    [Fact]
    public void Slice_with_negative_steps_and_clamped_ends_matches() =>
        AssertUnaryGraph("Slice", [4, 6, 5], [2, 3, 5], [Ints1(3, -1, 0), Ints1(0, -100, 100), Ints1(0, 1, 2), Ints1(-2, -2, 1)]);

    [Fact]
    public void Slice_of_trailing_axis_matches() =>
        AssertUnaryGraph("Slice", [3, 8], [3, 3], [Ints1(2), Ints1(5), Ints1(-1)]);

    [Fact]
    public void Reshape_squeeze_unsqueeze_and_flatten_are_views()
    {
        var graph = new OnnxGraphBuilder("views");
        graph.AddInput("x", ElementType.Fp32, 2, 3, 4);
        var reshaped = graph.AddNode("Reshape", ["x", graph.AddInitializer("shape", [3], [0L, -1L, 2L])]);
        var unsqueezed = graph.AddNode("Unsqueeze", [reshaped, graph.AddInitializer("axes", [1], [1L])]);
        var squeezed = graph.AddNode("Squeeze", [unsqueezed, graph.AddInitializer("axes2", [1], [1L])]);
        var flat = graph.AddNode("Flatten", [squeezed], Int("axis", 1));
        var relu = graph.AddNode("Relu", [flat]);
        graph.AddNode("Dropout", [graph.AddNode("Identity", [relu])], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 2, 12);
        AssertMatches(device.Worker, graph.ToBytes(), [Fp32("x", Random(29, 24), 2, 3, 4)]);
    }

    [Fact]
    public void Shape_arithmetic_is_folded_at_plan_time()
    {
        // The exporter pattern: Shape → Gather → Unsqueeze → Concat → Reshape, with a dynamic batch.
        var graph = new OnnxGraphBuilder("shape_chain");
        graph.AddInput("x", ElementType.Fp32, "batch", 3, 4);
        var shape = graph.AddNode("Shape", ["x"]);
        var batch = graph.AddNode("Gather", [shape, graph.AddInitializer("zero", [], [0L])], Int("axis", 0));
        var batch1 = graph.AddNode("Unsqueeze", [batch, graph.AddInitializer("axes", [1], [0L])]);
        var target = graph.AddNode("Concat", [batch1, graph.AddInitializer("rest", [1], [12L])], Int("axis", 0));
        var reshaped = graph.AddNode("Reshape", ["x", target]);
        var two = graph.AddNode("Cast", [graph.AddNode("Constant", [], OnnxAttribute.Int("value_int", 2))], Int("to", 1));
        graph.AddNode("Mul", [reshaped, two], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, "batch", 12);
        var model = graph.ToBytes();
        var plan = Engine.Gpu.Planning.GraphPlanner.PlanForBatch(global::OrleansServe.Onnx.OnnxGraph.Read(model), 5);
        Assert.Equal(["Mul"], plan.Layers.Select(l => l.OpType));
        AssertMatches(device.Worker, model, [Fp32("x", Random(30, 60), 5, 3, 4)]);
    }

    [Fact]
    public void Gather_of_token_ids_from_an_int64_input_matches()
    {
        var graph = new OnnxGraphBuilder("embedding");
        graph.AddInput("ids", ElementType.Int64, "batch", 5);
        var table = graph.AddInitializer("table", [11, 4], Random(31, 44));
        graph.AddNode("Gather", [table, "ids"], ["y"], Int("axis", 0));
        graph.AddOutput("y", ElementType.Fp32, "batch", 5, 4);
        AssertMatches(device.Worker, graph.ToBytes(), [Int64("ids", [0, 3, 10, -1, 7, 2, 2, 9, 1, -11], 2, 5)]);
    }

    [Fact]
    public void Gather_with_constant_indices_on_an_inner_axis_matches() =>
        AssertUnaryGraph("Gather", [2, 5, 3], [2, 2, 2, 3], [([2, 2], [4, 0, -1, 2])], Int("axis", 1));

    [Fact]
    public void Cast_of_a_mask_to_float_and_back_to_int_matches()
    {
        var graph = new OnnxGraphBuilder("cast");
        graph.AddInput("mask", ElementType.Int64, "batch", 4);
        graph.AddInput("x", ElementType.Fp32, "batch", 4);
        var maskFloat = graph.AddNode("Cast", ["mask"], Int("to", 1));
        graph.AddNode("Mul", [maskFloat, "x"], ["y"]);
        graph.AddNode("Cast", ["x"], ["truncated"], Int("to", 7));
        graph.AddOutput("y", ElementType.Fp32, "batch", 4);
        graph.AddOutput("truncated", ElementType.Int64, "batch", 4);
        AssertMatches(device.Worker, graph.ToBytes(), [Int64("mask", [1, 1, 0, 1, 0, 0, 1, 1], 2, 4), Fp32("x", Random(32, 8, -5, 5), 2, 4)]);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void Gelu_matches_in_opset_20(string approximate)
    {
        var graph = new OnnxGraphBuilder("gelu");
        graph.AddInput("x", ElementType.Fp32, 3, 7);
        graph.AddNode("Gelu", ["x"], ["y"], OnnxAttribute.String("approximate", approximate));
        graph.AddOutput("y", ElementType.Fp32, 3, 7);
        var model = global::OrleansServe.Onnx.Proto.Model.Parser.ParseFrom(graph.ToBytes());
        model.OpsetImport[0].Version = 20;
        AssertMatches(device.Worker, model.ToByteArray(), [Fp32("x", Random(33, 21, -3, 3), 3, 7)]);
    }
}
