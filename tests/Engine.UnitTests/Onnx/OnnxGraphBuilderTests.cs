using OrleansServe.Onnx.Proto;
using AttributeKind = OrleansServe.Onnx.Proto.Attribute.Types.Kind;

namespace OrleansServe.Engine.UnitTests.Onnx;

public class OnnxGraphBuilderTests
{
    [Fact]
    public void Written_gemm_model_computes_known_outputs_in_onnx_runtime()
    {
        // y = x·Wᵀ + b + 10, with small integers so every result is exact in float.
        var graph = new OnnxGraphBuilder();
        graph.AddInput("x", ElementType.Fp32, "batch", 2);
        var weight = graph.AddInitializer("w", [3, 2], [1f, 2f, 3f, 4f, -1f, 0f]);
        var bias = graph.AddInitializer("b", [3], [0.5f, -0.5f, 1f]);
        var ten = graph.AddInitializer("ten", [1], [10f]);
        var gemm = graph.AddNode("Gemm", ["x", weight, bias], OnnxAttribute.Int("transB", 1));
        graph.AddNode("Add", [gemm, ten], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, "batch", 3);

        using var runner = new OrtRunner(graph.ToBytes());
        var (values, shape) = runner.Run("x", [1f, 1f, 2f, -1f], [2, 2], "y");

        Assert.Equal([2L, 3L], shape);
        Assert.Equal([13.5f, 16.5f, 10f, 10.5f, 11.5f, 9f], values);
    }

    [Fact]
    public void Int64_initializer_serves_as_reshape_target_shape()
    {
        var graph = new OnnxGraphBuilder();
        graph.AddInput("x", ElementType.Fp32, 2, 6);
        var target = graph.AddInitializer("target", [2], [3L, 4L]);
        graph.AddNode("Reshape", ["x", target], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 3, 4);

        using var runner = new OrtRunner(graph.ToBytes());
        var input = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        var (values, shape) = runner.Run("x", input, [2, 6], "y");

        Assert.Equal([3L, 4L], shape);
        Assert.Equal(input, values);
    }

    [Fact]
    public void Float_attribute_reaches_the_operator()
    {
        var graph = new OnnxGraphBuilder();
        graph.AddInput("x", ElementType.Fp32, "batch", 2);
        graph.AddNode("LeakyRelu", ["x"], ["y"], OnnxAttribute.Float("alpha", 0.25f));
        graph.AddOutput("y", ElementType.Fp32, "batch", 2);

        using var runner = new OrtRunner(graph.ToBytes());
        var (values, _) = runner.Run("x", [-4f, 8f], [1, 2], "y");

        Assert.Equal([-1f, 8f], values);
    }

    [Fact]
    public void Attributes_of_every_kind_are_written_with_their_kind()
    {
        var graph = new OnnxGraphBuilder();
        graph.AddInput("x", ElementType.Fp32, 1);
        graph.AddNode("Custom", ["x"], ["y"],
            OnnxAttribute.Int("i", 7),
            OnnxAttribute.Ints("is", 1, 2),
            OnnxAttribute.Float("f", 0.5f),
            OnnxAttribute.Floats("fs", 1.5f, 2.5f),
            OnnxAttribute.String("s", "DCR"));
        graph.AddOutput("y", ElementType.Fp32, 1);

        var attributes = Model.Parser.ParseFrom(graph.ToBytes()).Graph.Node.Single().Attribute;

        Assert.Equal(
            [AttributeKind.Int, AttributeKind.Ints, AttributeKind.Float, AttributeKind.Floats, AttributeKind.String],
            attributes.Select(a => a.Type));
        Assert.Equal(7, attributes[0].I);
        Assert.Equal([1L, 2L], attributes[1].Ints);
        Assert.Equal(0.5f, attributes[2].F);
        Assert.Equal([1.5f, 2.5f], attributes[3].Floats);
        Assert.Equal("DCR", attributes[4].S.ToStringUtf8());
    }

    [Fact]
    public void Model_header_declares_ir_8_opset_17_and_the_producer()
    {
        var model = Model.Parser.ParseFrom(TestModels.FixedShape());

        Assert.Equal(8, model.IrVersion);
        Assert.Equal("OrleansServe", model.ProducerName);
        var opset = Assert.Single(model.OpsetImport);
        Assert.Equal("", opset.Domain);
        Assert.Equal(17, opset.Version);
    }

    [Fact]
    public void Float_initializers_are_stored_as_little_endian_raw_data()
    {
        var graph = new OnnxGraphBuilder();
        graph.AddInitializer("w", [2], [1f, -2f]);

        var tensor = Model.Parser.ParseFrom(graph.ToBytes()).Graph.Initializer.Single();

        Assert.Equal(ElementType.Fp32.ToOnnxCode(), tensor.DataType);
        Assert.Empty(tensor.FloatData);
        Assert.Equal(new byte[] { 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0 }, tensor.RawData.ToByteArray());
    }

    [Fact]
    public void Reusing_a_value_name_is_rejected()
    {
        var graph = new OnnxGraphBuilder();
        graph.AddInput("x", ElementType.Fp32, 1);

        Assert.Throws<ArgumentException>(() => graph.AddInitializer("x", [1], [0f]));
    }

    [Fact]
    public void Initializer_whose_values_do_not_fill_its_shape_is_rejected()
    {
        var graph = new OnnxGraphBuilder();

        Assert.Throws<ArgumentException>(() => graph.AddInitializer("w", [2, 3], [1f, 2f]));
    }

    [Fact]
    public void Same_seed_gives_identical_weights_and_another_seed_does_not()
    {
        var first = new SeededWeights(42).HeNormal(1001, 100);
        var again = new SeededWeights(42).HeNormal(1001, 100);
        var other = new SeededWeights(43).HeNormal(1001, 100);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void He_normal_weights_have_zero_mean_and_variance_two_over_fan_in()
    {
        var values = new SeededWeights(7).HeNormal(100_000, 50);

        var mean = values.Average(v => (double)v);
        var variance = values.Average(v => (v - mean) * (v - mean));

        Assert.InRange(mean, -0.005, 0.005);
        Assert.InRange(variance, 0.04 * 0.97, 0.04 * 1.03);
    }
}
