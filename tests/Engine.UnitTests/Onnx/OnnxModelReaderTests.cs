using Google.Protobuf;
using OrleansServe.Onnx.Proto;

namespace OrleansServe.Engine.UnitTests.Onnx;

public class OnnxModelReaderTests
{
    public static TheoryData<string, string, long[], string, long[]> SampleModelSignatures => new()
    {
        { "mlp", "input", [-1, 784], "probabilities", [-1, 10] },
        { "lenet5", "input", [-1, 1, 28, 28], "probabilities", [-1, 10] },
        { "resnet_small", "input", [-1, 3, 32, 32], "logits", [-1, 10] },
    };

    [Theory]
    [MemberData(nameof(SampleModelSignatures))]
    public void Reads_sample_model_signature_with_dynamic_batch_as_minus_one(string model, string input, long[] inputShape, string output, long[] outputShape)
    {
        var signature = OnnxModelReader.ReadSignature(SampleZoo.Build(model));

        var onlyInput = Assert.Single(signature.Inputs);
        Assert.Equal((input, ElementType.Fp32), (onlyInput.Name, onlyInput.ElementType));
        Assert.Equal(inputShape, onlyInput.Shape);
        Assert.True(onlyInput.HasDynamicBatch);
        var onlyOutput = Assert.Single(signature.Outputs);
        Assert.Equal((output, ElementType.Fp32), (onlyOutput.Name, onlyOutput.ElementType));
        Assert.Equal(outputShape, onlyOutput.Shape);
    }

    [Fact]
    public void Reads_every_datatype_of_the_typed_identity_model_in_graph_order()
    {
        var signature = OnnxModelReader.ReadSignature(TestModels.TypedIdentity());

        Assert.Equal(TestModels.TypedIdentityInputs.Select(i => (i.Name, i.Type)), signature.Inputs.Select(i => (i.Name, i.ElementType)));
        Assert.Equal(TestModels.TypedIdentityInputs.Select(i => (i.Name + "_out", i.Type)), signature.Outputs.Select(o => (o.Name, o.ElementType)));
        Assert.All(signature.Inputs.Concat(signature.Outputs), t => Assert.Equal([-1L, 4L], t.Shape));
    }

    [Fact]
    public void Reads_add_constant_model_without_listing_its_constant_as_an_input()
    {
        var signature = OnnxModelReader.ReadSignature(TestModels.AddConstant(1.5f));

        Assert.Equal("x", Assert.Single(signature.Inputs).Name);
        Assert.Equal([-1L, 3L], signature.Inputs[0].Shape);
        Assert.Equal("y", Assert.Single(signature.Outputs).Name);
        Assert.Equal([-1L, 3L], signature.Outputs[0].Shape);
    }

    [Fact]
    public void Reads_fixed_shape_model_as_not_batchable()
    {
        var signature = OnnxModelReader.ReadSignature(TestModels.FixedShape());

        Assert.Equal([2L, 3L], signature.Inputs[0].Shape);
        Assert.False(signature.Inputs[0].HasDynamicBatch);
        Assert.Equal([2L, 3L], signature.Outputs[0].Shape);
    }

    [Fact]
    public void Leaves_out_initializers_that_older_exporters_also_list_as_inputs()
    {
        var bytes = Mutate(TestModels.AddConstant(1f), model => model.Graph.Input.Add(new ValueInfo
        {
            Name = "c",
            Type = TensorType(ElementType.Fp32.ToOnnxCode(), new Shape.Types.Dimension { DimValue = 1 }),
        }));

        var signature = OnnxModelReader.ReadSignature(bytes);

        Assert.Equal("x", Assert.Single(signature.Inputs).Name);
    }

    [Fact]
    public void Reads_a_dimension_without_value_or_symbol_as_dynamic()
    {
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Input[0].Type.TensorType.Shape.Dim[1].ClearValue());

        Assert.Equal([2L, -1L], OnnxModelReader.ReadSignature(bytes).Inputs[0].Shape);
    }

    [Fact]
    public void Rejects_garbage_bytes()
    {
        var exception = Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature("this is not an onnx model"u8));

        Assert.Contains("not a valid ONNX protobuf", exception.Message);
    }

    [Fact]
    public void Rejects_random_bytes()
    {
        var bytes = new byte[4096];
        new Random(1).NextBytes(bytes);

        Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes));
    }

    [Fact]
    public void Rejects_empty_input()
    {
        var exception = Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(ReadOnlySpan<byte>.Empty));

        Assert.Contains("empty", exception.Message);
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.999)]
    public void Rejects_truncated_model_bytes(double keptFraction)
    {
        var bytes = SampleZoo.Build("lenet5");

        Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes.AsSpan(0, (int)(bytes.Length * keptFraction))));
    }

    [Fact]
    public void Rejects_model_cut_off_right_after_the_graph()
    {
        var bytes = Mutate(TestModels.FixedShape(), model => model.OpsetImport.Clear());

        var exception = Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes));

        Assert.Contains("opset", exception.Message);
    }

    [Fact]
    public void Rejects_model_without_graph()
    {
        var bytes = new Model { IrVersion = 8, OpsetImport = { new OpsetId { Version = 17 } } }.ToByteArray();

        var exception = Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes));

        Assert.Contains("no graph", exception.Message);
    }

    [Fact]
    public void Rejects_graph_without_inputs()
    {
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Input.Clear());

        Assert.Contains("no inputs", Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes)).Message);
    }

    [Fact]
    public void Rejects_graph_without_outputs()
    {
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Output.Clear());

        Assert.Contains("no outputs", Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes)).Message);
    }

    [Fact]
    public void Rejects_output_that_is_not_a_tensor_naming_it()
    {
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Output[0].Type = new TypeInfo());

        var exception = Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes));

        Assert.Contains("output 'y' is not a tensor", exception.Message);
    }

    [Fact]
    public void Rejects_input_of_unsupported_element_type_naming_input_and_type()
    {
        const int onnxString = 8;
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Input[0].Type.TensorType.ElemType = onnxString);

        var exception = Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes));

        Assert.Contains("input 'x'", exception.Message);
        Assert.Contains("STRING", exception.Message);
    }

    [Fact]
    public void Rejects_negative_dimension_that_is_not_the_dynamic_marker()
    {
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue = -3);

        Assert.Contains("-3", Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes)).Message);
    }

    [Fact]
    public void Accepts_minus_one_dimension_as_dynamic()
    {
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue = -1);

        Assert.True(OnnxModelReader.ReadSignature(bytes).Inputs[0].HasDynamicBatch);
    }

    [Fact]
    public void Rejects_rank_above_eight()
    {
        var dims = Enumerable.Range(0, 9).Select(_ => new Shape.Types.Dimension { DimValue = 1 }).ToArray();
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Input[0].Type = TensorType(ElementType.Fp32.ToOnnxCode(), dims));

        Assert.Contains("rank 9", Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes)).Message);
    }

    [Fact]
    public void Rejects_tensor_without_a_shape()
    {
        var bytes = Mutate(TestModels.FixedShape(), model => model.Graph.Input[0].Type.TensorType.Shape = null);

        Assert.Contains("no shape", Assert.Throws<InvalidModelException>(() => OnnxModelReader.ReadSignature(bytes)).Message);
    }

    [Fact]
    public void Counts_parameters_as_the_elements_of_float_initializers()
    {
        // 784·256 + 256 + 256·128 + 128 + 128·10 + 10
        Assert.Equal(235_146, OnnxModelReader.CountParameters(SampleZoo.Build("mlp")));
    }

    private static byte[] Mutate(byte[] modelBytes, Action<Model> change)
    {
        var model = Model.Parser.ParseFrom(modelBytes);
        change(model);
        return model.ToByteArray();
    }

    private static TypeInfo TensorType(int elementType, params Shape.Types.Dimension[] dims) =>
        new() { TensorType = new TypeInfo.Types.TensorType { ElemType = elementType, Shape = new Shape { Dim = { dims } } } };
}
