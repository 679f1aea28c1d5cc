using static OrleansServe.ApiHost.UnitTests.Protocol.KServeBodies;

namespace OrleansServe.ApiHost.UnitTests.Protocol;

/// <summary>Every malformed body is a <see cref="KServeProtocolException"/> whose message tells the user what is wrong.</summary>
public sealed class InferRequestParserErrorTests
{
    private static string Input(string datatype, string shape, string data) =>
        $$"""{"inputs":[{"name":"x","shape":{{shape}},"datatype":"{{datatype}}","data":{{data}}}]}""";

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{\"inputs\":[")]
    [InlineData("{\"inputs\":[]")]
    [InlineData("{\"inputs\":[],}")]
    [InlineData("{'inputs':[]}")]
    [InlineData("{\"inputs\":[]} trailing")]
    [InlineData("{\"inputs\":[]}{}")]
    [InlineData("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1,]}]}")]
    [InlineData("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[NaN]}]}")]
    [InlineData("{\"inputs\":[] /* comment */}")]
    public void Malformed_json_is_rejected(string json) => Rejected(json, "malformed JSON");

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("\"inputs\"")]
    [InlineData("null")]
    public void The_body_must_be_a_json_object(string json) => Rejected(json, "must be a JSON object");

    [Fact]
    public void Inputs_are_required() => Rejected("""{"id":"1"}""", "the request has no 'inputs'");

    [Fact]
    public void Inputs_must_be_an_array() => Rejected("""{"inputs":{"name":"x"}}""", "'inputs' must be an array");

    [Fact]
    public void Each_input_must_be_an_object() => Rejected("""{"inputs":[1]}""", "inputs[0] must be an object");

    [Fact]
    public void An_input_needs_a_name() =>
        Rejected("""{"inputs":[{"shape":[1],"datatype":"FP32","data":[1]}]}""", "inputs[0] has no 'name'");

    [Fact]
    public void An_input_name_must_not_be_empty() =>
        Rejected("""{"inputs":[{"name":"","shape":[1],"datatype":"FP32","data":[1]}]}""", "must not be empty");

    [Fact]
    public void An_input_name_must_be_a_string() =>
        Rejected("""{"inputs":[{"name":7,"shape":[1],"datatype":"FP32","data":[1]}]}""", "the name of inputs[0] must be a string");

    [Fact]
    public void An_input_needs_a_shape() =>
        Rejected("""{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}""", "input 'x' has no 'shape'");

    [Fact]
    public void An_input_needs_a_datatype() =>
        Rejected("""{"inputs":[{"name":"x","shape":[1],"data":[1]}]}""", "input 'x' has no 'datatype'");

    [Fact]
    public void An_input_needs_data_or_a_binary_size() =>
        Rejected("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP32"}]}""", "has neither 'data' nor parameters.binary_data_size");

    [Fact]
    public void An_input_cannot_have_both_data_and_a_binary_size() =>
        Rejected(
            """{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4},"data":[1]}]}""",
            "has both 'data' and parameters.binary_data_size");

    [Fact]
    public void Data_must_be_an_array() => Rejected(Input("FP32", "[1]", "1"), "input 'x': 'data' must be an array");

    [Fact]
    public void Unknown_datatypes_are_rejected_with_the_supported_list()
    {
        var exception = Rejected(Input("FP8", "[1]", "[1]"), "input 'x': unknown datatype 'FP8'");
        Assert.Contains("BOOL, UINT8", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("BYTES")]
    [InlineData("BF16")]
    public void Bytes_and_bfloat16_are_reported_as_unsupported(string datatype) =>
        Rejected(Input(datatype, "[1]", "[1]"), $"datatype {datatype} is not supported by this server");

    [Fact]
    public void Datatype_names_are_case_sensitive() => Rejected(Input("fp32", "[1]", "[1]"), "unknown datatype 'fp32'");

    [Fact]
    public void Negative_dimensions_are_rejected() => Rejected(Input("FP32", "[2,-1]", "[]"), "shape [2,-1] has a negative dimension");

    [Theory]
    [InlineData("[2.5]")]
    [InlineData("[\"2\"]")]
    [InlineData("[1e3]")]
    [InlineData("[99999999999999999999]")]
    [InlineData("[[2]]")]
    [InlineData("2")]
    public void Dimensions_must_be_integers(string shape) => Rejected(Input("FP32", shape, "[1]"), "'shape' must be an array of integers");

    [Fact]
    public void Fewer_elements_than_the_shape_needs_are_rejected() =>
        Rejected(Input("FP32", "[3,4]", "[1,2,3,4,5,6,7,8,9,10,11]"), "input 'x': expected 12 elements for shape [3,4], got 11");

    [Fact]
    public void More_elements_than_the_shape_needs_are_rejected() =>
        Rejected(Input("INT32", "[2,2]", "[[1,2],[3,4],[5]]"), "input 'x': expected 4 elements for shape [2,2], got 5");

    [Fact]
    public void Data_before_the_shape_is_counted_against_it() =>
        Rejected("""{"inputs":[{"data":[1,2,3],"name":"x","shape":[2],"datatype":"UINT8"}]}""", "expected 2 elements for shape [2], got 3");

    [Theory]
    [InlineData("[9223372036854775807,2]")]
    [InlineData("[4294967296,4294967296]")]
    [InlineData("[1073741824]")]
    [InlineData("[65536,65536]")]
    public void Shapes_too_large_for_one_buffer_are_rejected(string shape) =>
        Rejected(Input("FP32", shape, "[1]"), "is too large");

    [Fact]
    public void A_zero_dimension_makes_any_other_dimension_harmless()
    {
        var parsed = Parse(Input("FP64", "[9223372036854775807,0,9223372036854775807]", "[]"));

        Assert.Empty(parsed.Request.Inputs[0].Data);
    }

    [Fact]
    public void Shapes_larger_than_the_body_are_not_allocated()
    {
        var json = Input("FP64", "[200000000]", "[1,2]");
        var before = GC.GetAllocatedBytesForCurrentThread();

        Rejected(json, "expected 200000000 elements for shape [200000000], got 2");

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000, "a 1.6 GB buffer must not be allocated for a 2-element body");
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_rejected()
    {
        var depth = InferRequestParser.MaxDepth + 5;
        var data = new string('[', depth) + "1" + new string(']', depth);

        var exception = Rejected(Input("FP32", "[1]", data), "malformed JSON");

        Assert.Contains("depth", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_input_names_are_rejected() =>
        Rejected(
            """{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]},{"name":"x","shape":[1],"datatype":"FP32","data":[2]}]}""",
            "input 'x' is given more than once");

    [Fact]
    public void A_property_given_twice_is_rejected()
    {
        Rejected("""{"inputs":[],"inputs":[]}""", "the request has 'inputs' more than once");
        Rejected("""{"inputs":[{"name":"x","shape":[1],"shape":[1],"datatype":"FP32","data":[1]}]}""", "input 'x' has 'shape' more than once");
    }

    [Theory]
    [InlineData("BOOL", "1")]
    [InlineData("BOOL", "\"true\"")]
    [InlineData("BOOL", "null")]
    [InlineData("UINT8", "256")]
    [InlineData("UINT8", "-1")]
    [InlineData("INT8", "128")]
    [InlineData("INT8", "-129")]
    [InlineData("UINT16", "65536")]
    [InlineData("INT16", "32768")]
    [InlineData("INT16", "-32769")]
    [InlineData("UINT32", "4294967296")]
    [InlineData("INT32", "2147483648")]
    [InlineData("INT32", "-2147483649")]
    [InlineData("UINT64", "18446744073709551616")]
    [InlineData("UINT64", "-1")]
    [InlineData("INT64", "9223372036854775808")]
    [InlineData("INT64", "-9223372036854775809")]
    [InlineData("INT32", "1.5")]
    [InlineData("INT32", "1e2")]
    [InlineData("INT32", "1.0")]
    [InlineData("INT32", "\"1\"")]
    [InlineData("INT32", "true")]
    [InlineData("INT64", "\"NaN\"")]
    [InlineData("FP16", "65520")]
    [InlineData("FP16", "-1e5")]
    [InlineData("FP32", "1e39")]
    [InlineData("FP32", "-3.5e38")]
    [InlineData("FP64", "1e309")]
    [InlineData("FP32", "\"nan\"")]
    [InlineData("FP32", "\"1.5\"")]
    [InlineData("FP64", "null")]
    [InlineData("FP64", "{}")]
    [InlineData("FP32", "false")]
    public void Values_of_the_wrong_kind_or_out_of_range_are_rejected(string datatype, string value)
    {
        var valid = datatype == "BOOL" ? "false" : "0";

        var exception = Rejected(Input(datatype, "[2]", $"[{valid},{value}]"), $"input 'x': element 1 is ");

        Assert.Contains($"but {datatype} takes ", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_offending_value_is_quoted_in_the_message() =>
        Rejected(Input("UINT8", "[3]", "[1,2,300]"), "input 'x': element 2 is 300, but UINT8 takes integers from 0 to 255");

    [Fact]
    public void Long_offending_values_are_shortened_in_the_message()
    {
        var exception = Rejected(Input("INT32", "[1]", $"[{new string('9', 5000)}]"), "element 0 is 9999");

        Assert.True(exception.Message.Length < 300);
    }

    [Fact]
    public void Strings_that_are_not_utf8_are_rejected()
    {
        var body = Utf8("""{"inputs":[{"name":"__","shape":[1],"datatype":"FP32","data":[1]}]}""");
        var at = Array.IndexOf(body, (byte)'_');
        body[at] = 0xFF;
        body[at + 1] = 0xFE;

        Rejected(body, null, "is not valid UTF-8");
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"\ud800","shape":[1],"datatype":"FP32","data":[1]}]}""", "the name of inputs[0] is not valid UTF-8")]
    [InlineData("""{"\ud800":1,"inputs":[]}""", "malformed JSON")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["\ud800"]}]}""", "malformed JSON")]
    public void Lone_surrogate_escapes_are_rejected(string json, string expectedMessagePart) => Rejected(json, expectedMessagePart);

    [Fact]
    public void The_request_id_must_be_a_string() => Rejected("""{"id":5,"inputs":[]}""", "'id' must be a string");

    [Fact]
    public void Binary_data_output_must_be_a_boolean() =>
        Rejected("""{"parameters":{"binary_data_output":"yes"},"inputs":[]}""", "parameters.binary_data_output must be true or false");

    [Fact]
    public void Outputs_need_distinct_names()
    {
        Rejected("""{"inputs":[],"outputs":[{"parameters":{}}]}""", "outputs[0] has no 'name'");
        Rejected("""{"inputs":[],"outputs":[{"name":"y"},{"name":"y"}]}""", "output 'y' is requested more than once");
    }

    [Fact]
    public void Output_binary_data_must_be_a_boolean() =>
        Rejected("""{"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":1}}]}""", "outputs[0]: parameters.binary_data must be true or false");

    [Fact]
    public void A_negative_header_length_is_rejected() =>
        Rejected(Utf8("""{"inputs":[]}"""), -1, "Inference-Header-Content-Length must not be negative");

    [Fact]
    public void A_header_length_beyond_the_body_is_rejected() =>
        Rejected(Utf8("""{"inputs":[]}"""), 100, "Inference-Header-Content-Length is 100 but the body has only 13 bytes");

    [Fact]
    public void A_header_length_that_cuts_the_json_short_is_malformed_json() =>
        Rejected(Utf8("""{"inputs":[]}"""), 5, "malformed JSON");

    [Fact]
    public void Binary_input_sizes_must_cover_the_whole_body()
    {
        var (body, headerLength) = WithBinary(
            """{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}""",
            Bytes(1f, 2f, 3f));

        Rejected(body, headerLength, "the binary inputs take 8 bytes but 12 bytes follow the JSON header");
    }

    [Fact]
    public void Bytes_after_a_json_only_header_are_rejected()
    {
        var (body, headerLength) = WithBinary("""{"inputs":[]}""", [1, 2, 3]);

        Rejected(body, headerLength, "the binary inputs take 0 bytes but 3 bytes follow the JSON header");
    }

    [Fact]
    public void Binary_inputs_must_not_run_past_the_body()
    {
        var (body, headerLength) = WithBinary(
            """
            {"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},
                       {"name":"b","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}]}
            """,
            Bytes(1f, 2f, 3f));

        Rejected(body, headerLength, "input 'b': binary data of 8 bytes runs past the end of the body (4 bytes left)");
    }

    [Fact]
    public void Binary_size_must_match_the_shape_and_datatype()
    {
        var (body, headerLength) = WithBinary(
            """{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","parameters":{"binary_data_size":12}}]}""",
            Bytes(1f, 2f, 3f));

        Rejected(body, headerLength, "input 'x': parameters.binary_data_size is 12 but shape [2,2] of FP32 needs 16 bytes");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("\"8\"")]
    [InlineData("99999999999999999999")]
    public void Binary_size_must_be_a_non_negative_integer(string size) =>
        Rejected(
            $$$"""{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":{{{size}}}}}]}""",
            "parameters.binary_data_size must be a non-negative integer");

    [Fact]
    public void Binary_inputs_need_the_header_length()
    {
        var json = Utf8("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}""");

        Rejected(json, null, "input 'x' has parameters.binary_data_size but the request has no Inference-Header-Content-Length header");
    }

    [Fact]
    public void A_binary_input_with_an_unsupported_datatype_is_rejected()
    {
        var (body, headerLength) = WithBinary(
            """{"inputs":[{"name":"x","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":4}}]}""",
            [0, 0, 0, 0]);

        Rejected(body, headerLength, "datatype BYTES is not supported");
    }
}
