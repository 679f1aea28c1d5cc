using static OrleansServe.ApiHost.UnitTests.Protocol.KServeBodies;

namespace OrleansServe.ApiHost.UnitTests.Protocol;

public sealed class InferRequestParserTests
{
    public static TheoryData<string, string, byte[]> EveryDatatype => new()
    {
        { "BOOL", "[true,false,true]", [1, 0, 1] },
        { "UINT8", "[0,255,7]", Bytes<byte>(0, 255, 7) },
        { "INT8", "[-128,127,0]", Bytes<sbyte>(-128, 127, 0) },
        { "UINT16", "[0,65535,513]", Bytes<ushort>(0, 65535, 513) },
        { "INT16", "[-32768,32767,-1]", Bytes<short>(-32768, 32767, -1) },
        { "UINT32", "[0,4294967295,65536]", Bytes<uint>(0, 4294967295, 65536) },
        { "INT32", "[-2147483648,2147483647,-7]", Bytes(-2147483648, 2147483647, -7) },
        { "UINT64", "[0,18446744073709551615,4294967296]", Bytes<ulong>(0, 18446744073709551615, 4294967296) },
        { "INT64", "[-9223372036854775808,9223372036854775807,-1]", Bytes(-9223372036854775808, 9223372036854775807, -1L) },
        { "FP16", "[1.5,-0.25,65504]", Bytes((Half)1.5, (Half)(-0.25), (Half)65504) },
        { "FP32", "[3.4028235E+38,-1.5,1e-45]", Bytes(float.MaxValue, -1.5f, float.Epsilon) },
        { "FP64", "[1.7976931348623157E+308,-0.1,5e-324]", Bytes(double.MaxValue, -0.1, double.Epsilon) },
    };

    [Theory]
    [MemberData(nameof(EveryDatatype))]
    public void Every_datatype_is_read_into_little_endian_bytes(string datatype, string data, byte[] expected)
    {
        var parsed = Parse($$"""{"inputs":[{"name":"x","shape":[3],"datatype":"{{datatype}}","data":{{data}}}]}""");

        var input = Assert.Single(parsed.Request.Inputs);
        Assert.Equal("x", input.Name);
        Assert.Equal(datatype, input.ElementType.ToKServeName());
        Assert.Equal([3L], input.Shape);
        Assert.Equal(expected, input.Data);
    }

    [Fact]
    public void Nested_data_is_flattened_row_major()
    {
        var parsed = Parse("""{"inputs":[{"name":"x","shape":[2,3],"datatype":"INT32","data":[[1,2,3],[4,5,6]]}]}""");

        Assert.Equal([1, 2, 3, 4, 5, 6], Values<int>(parsed.Request.Inputs[0]));
    }

    [Fact]
    public void Nested_and_flat_data_give_the_same_tensor()
    {
        var nested = Parse("""{"inputs":[{"name":"x","shape":[2,2,2],"datatype":"FP32","data":[[[1,2],[3,4]],[[5,6],[7,8]]]}]}""");
        var flat = Parse("""{"inputs":[{"name":"x","shape":[2,2,2],"datatype":"FP32","data":[1,2,3,4,5,6,7,8]}]}""");

        Assert.Equal(flat.Request.Inputs[0].Data, nested.Request.Inputs[0].Data);
    }

    [Fact]
    public void Data_may_come_before_name_shape_and_datatype()
    {
        var parsed = Parse("""{"inputs":[{"data":[[1,2],[3,4]],"datatype":"INT64","shape":[2,2],"name":"x"}]}""");

        var input = parsed.Request.Inputs[0];
        Assert.Equal("x", input.Name);
        Assert.Equal([1L, 2, 3, 4], Values<long>(input));
    }

    [Fact]
    public void A_scalar_has_an_empty_shape_and_one_element()
    {
        var parsed = Parse("""{"inputs":[{"name":"x","shape":[],"datatype":"FP64","data":[2.5]}]}""");

        Assert.Empty(parsed.Request.Inputs[0].Shape);
        Assert.Equal([2.5], Values<double>(parsed.Request.Inputs[0]));
    }

    [Fact]
    public void A_zero_sized_dimension_makes_an_empty_tensor()
    {
        var parsed = Parse("""{"inputs":[{"name":"x","shape":[0,3],"datatype":"FP32","data":[]}]}""");

        Assert.Empty(parsed.Request.Inputs[0].Data);
        Assert.Equal([0L, 3], parsed.Request.Inputs[0].Shape);
    }

    [Fact]
    public void Inputs_keep_their_order_and_the_request_its_id()
    {
        var parsed = Parse("""
            {"id":"req-7","inputs":[
              {"name":"b","shape":[1],"datatype":"UINT8","data":[1]},
              {"name":"a","shape":[1],"datatype":"UINT8","data":[2]}]}
            """);

        Assert.Equal("req-7", parsed.Request.Id);
        Assert.Equal(["b", "a"], parsed.Request.Inputs.Select(i => i.Name));
        Assert.Null(parsed.Request.Version);
    }

    [Fact]
    public void Without_outputs_all_outputs_are_requested_as_json()
    {
        var parsed = Parse("""{"inputs":[{"name":"x","shape":[1],"datatype":"BOOL","data":[true]}]}""");

        Assert.Null(parsed.Request.Id);
        Assert.Null(parsed.Request.RequestedOutputs);
        Assert.Null(parsed.OutputBinary);
        Assert.False(parsed.BinaryOutputDefault);
        Assert.False(parsed.IsBinaryOutput("anything"));
    }

    [Fact]
    public void An_empty_outputs_array_means_all_outputs()
    {
        var parsed = Parse("""{"inputs":[],"outputs":[]}""");

        Assert.Null(parsed.Request.RequestedOutputs);
        Assert.Null(parsed.OutputBinary);
    }

    [Fact]
    public void Requested_outputs_take_binary_data_from_their_own_parameter_or_the_request_default()
    {
        var parsed = Parse("""
            {"parameters":{"binary_data_output":true,"priority":3},
             "inputs":[],
             "outputs":[{"name":"probs","parameters":{"binary_data":false}},{"name":"labels"}]}
            """);

        Assert.Equal(["probs", "labels"], parsed.Request.RequestedOutputs!);
        Assert.True(parsed.BinaryOutputDefault);
        Assert.False(parsed.OutputBinary!["probs"]);
        Assert.True(parsed.OutputBinary["labels"]);
        Assert.False(parsed.IsBinaryOutput("probs"));
        Assert.True(parsed.IsBinaryOutput("labels"));
    }

    [Fact]
    public void The_binary_default_applies_even_when_parameters_come_after_outputs()
    {
        var parsed = Parse("""{"outputs":[{"name":"y"}],"inputs":[],"parameters":{"binary_data_output":true}}""");

        Assert.True(parsed.OutputBinary!["y"]);
    }

    [Fact]
    public void Unknown_properties_are_ignored()
    {
        var parsed = Parse("""
            {"model":"x","inputs":[{"name":"x","extra":{"a":[1,{"b":null}]},"shape":[1],"datatype":"INT8",
              "parameters":{"content_type":"np"},"data":[-1]}],"trailer":[true]}
            """);

        Assert.Equal([-1], Values<sbyte>(parsed.Request.Inputs[0]));
    }

    [Fact]
    public void Escaped_property_names_and_strings_are_understood()
    {
        var parsed = Parse("""{"inputs":[{"na\u006De":"\u00e9t\u00e9","shape":[1],"datatype":"\u0046P32","data":[1]}]}""");

        Assert.Equal("été", parsed.Request.Inputs[0].Name);
        Assert.Equal(ElementType.Fp32, parsed.Request.Inputs[0].ElementType);
    }

    [Fact]
    public void Float_inputs_accept_NaN_and_infinities_as_strings()
    {
        var parsed = Parse("""
            {"inputs":[
              {"name":"h","shape":[3],"datatype":"FP16","data":["NaN","Infinity","-Infinity"]},
              {"name":"f","shape":[3],"datatype":"FP32","data":["NaN","Infinity","-Infinity"]},
              {"name":"d","shape":[3],"datatype":"FP64","data":["NaN","Infinity","-Infinity"]}]}
            """);

        var halves = Values<Half>(parsed.Request.Inputs[0]);
        Assert.True(Half.IsNaN(halves[0]));
        Assert.Equal([Half.PositiveInfinity, Half.NegativeInfinity], halves[1..]);
        var floats = Values<float>(parsed.Request.Inputs[1]);
        Assert.True(float.IsNaN(floats[0]));
        Assert.Equal([float.PositiveInfinity, float.NegativeInfinity], floats[1..]);
        var doubles = Values<double>(parsed.Request.Inputs[2]);
        Assert.True(double.IsNaN(doubles[0]));
        Assert.Equal([double.PositiveInfinity, double.NegativeInfinity], doubles[1..]);
    }

    [Fact]
    public void Numbers_too_small_for_the_float_type_round_to_zero()
    {
        var parsed = Parse("""{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1e-50,-1e-50]}]}""");

        Assert.Equal([0f, -0f], Values<float>(parsed.Request.Inputs[0]));
    }

    [Fact]
    public void Binary_inputs_are_taken_from_after_the_header_in_input_order()
    {
        var (body, headerLength) = WithBinary(
            """
            {"inputs":[
              {"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},
              {"name":"j","shape":[1],"datatype":"INT8","data":[5]},
              {"name":"b","shape":[3],"datatype":"UINT16","parameters":{"binary_data_size":6}}]}
            """,
            Bytes(1.5f, -2f),
            Bytes<ushort>(1, 2, 3));

        var inputs = InferRequestParser.Parse(body, headerLength).Request.Inputs;

        Assert.Equal([1.5f, -2f], Values<float>(inputs[0]));
        Assert.Equal([5], Values<sbyte>(inputs[1]));
        Assert.Equal([(ushort)1, 2, 3], Values<ushort>(inputs[2]));
    }

    [Fact]
    public void A_header_length_covering_the_whole_body_means_no_binary_inputs()
    {
        var body = Utf8("""{"inputs":[{"name":"x","shape":[1],"datatype":"INT16","data":[300]}]}""");

        var parsed = InferRequestParser.Parse(body, body.Length);

        Assert.Equal([(short)300], Values<short>(parsed.Request.Inputs[0]));
    }

    [Fact]
    public void Binary_inputs_may_be_empty_tensors()
    {
        var (body, headerLength) = WithBinary("""{"inputs":[{"name":"x","shape":[0],"datatype":"FP64","parameters":{"binary_data_size":0}}]}""");

        Assert.Empty(InferRequestParser.Parse(body, headerLength).Request.Inputs[0].Data);
    }

    [Fact]
    public void Parsing_works_on_a_slice_of_a_larger_buffer()
    {
        var json = Utf8("""{"inputs":[{"name":"x","shape":[2],"datatype":"UINT8","data":[9,8]}]}""");
        var padded = new byte[json.Length + 20];
        json.CopyTo(padded, 10);

        var parsed = InferRequestParser.Parse(padded.AsMemory(10, json.Length), null);

        Assert.Equal([9, 8], parsed.Request.Inputs[0].Data);
    }
}
