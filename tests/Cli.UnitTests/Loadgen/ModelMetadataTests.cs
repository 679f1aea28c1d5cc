using OrleansServe.KServe;

namespace OrleansServe.Cli.UnitTests.Loadgen;

public sealed class ModelMetadataTests
{
    private const string MlpMetadata = """
        {"name":"mlp","versions":["1"],"platform":"onnxruntime_onnx",
         "inputs":[{"name":"input","datatype":"FP32","shape":[-1,784]}],
         "outputs":[{"name":"probabilities","datatype":"FP32","shape":[-1,10]}],
         "config":{"slo_ms":20,"max_batch_size":32}}
        """;

    [Fact]
    public void Parses_the_servers_metadata_and_ignores_fields_it_does_not_need()
    {
        var metadata = ModelMetadata.Parse(MlpMetadata);

        Assert.Equal("mlp", metadata.Name);
        Assert.Equal(["1"], metadata.Versions);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal("input", input.Name);
        Assert.Equal("FP32", input.Datatype);
        Assert.Equal([-1L, 784L], input.Shape);
        Assert.Equal("probabilities", Assert.Single(metadata.Outputs).Name);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"name":"m","inputs":[]}""")]
    [InlineData("""{"name":"m"}""")]
    [InlineData("""{"name":"m","inputs":[{"name":"x","datatype":"FP32"}]}""")]
    [InlineData("null")]
    public void Metadata_without_usable_inputs_is_a_clear_error(string json)
    {
        Assert.Throws<LoadgenException>(() => ModelMetadata.Parse(json));
    }

    [Fact]
    public void The_first_dynamic_dimension_becomes_the_batch()
    {
        var inputs = InputShapes.Resolve([new TensorMetadataResponse("image", "FP32", [-1, 3, 32, 32])], batch: 8);

        var input = Assert.Single(inputs);
        Assert.Equal([8L, 3L, 32L, 32L], input.Shape);
        Assert.Equal(8 * 3 * 32 * 32, input.ElementCount);
    }

    [Fact]
    public void A_second_dynamic_dimension_is_refused_with_its_position()
    {
        var error = Assert.Throws<LoadgenException>(() =>
            InputShapes.Resolve([new TensorMetadataResponse("tokens", "FP32", [-1, -1])], batch: 1));

        Assert.Contains("tokens", error.Message);
        Assert.Contains("dimension 1", error.Message);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-2L)]
    public void Zero_and_negative_sizes_other_than_minus_one_are_refused(long dimension)
    {
        Assert.Throws<LoadgenException>(() => InputShapes.Resolve([new TensorMetadataResponse("x", "FP32", [-1, dimension])], batch: 1));
    }

    [Fact]
    public void Datatypes_other_than_fp32_are_refused_by_name()
    {
        var error = Assert.Throws<LoadgenException>(() =>
            InputShapes.Resolve([new TensorMetadataResponse("ids", "INT64", [-1, 16])], batch: 1));

        Assert.Contains("INT64", error.Message);
        Assert.Contains("FP32", error.Message);
    }

    [Fact]
    public void A_fixed_shape_is_used_as_it_is_at_batch_one()
    {
        var inputs = InputShapes.Resolve([new TensorMetadataResponse("x", "FP32", [1, 10])], batch: 1);

        Assert.Equal([1L, 10L], Assert.Single(inputs).Shape);
    }

    [Fact]
    public void A_fixed_shape_cannot_take_a_larger_batch()
    {
        Assert.Throws<LoadgenException>(() => InputShapes.Resolve([new TensorMetadataResponse("x", "FP32", [1, 10])], batch: 4));
    }

    [Fact]
    public void Shapes_too_large_to_generate_are_refused()
    {
        Assert.Throws<LoadgenException>(() =>
            InputShapes.Resolve([new TensorMetadataResponse("x", "FP32", [-1, 1L << 20, 1L << 20])], batch: 1));
    }
}
