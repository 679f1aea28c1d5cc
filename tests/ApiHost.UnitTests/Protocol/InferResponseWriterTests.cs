using System.Buffers;
using System.Text;
using System.Text.Json;
using static OrleansServe.ApiHost.UnitTests.Protocol.KServeBodies;

namespace OrleansServe.ApiHost.UnitTests.Protocol;

public sealed class InferResponseWriterTests
{
    private static InferenceResponse Response(params Tensor[] outputs) => new("resnet", "3", "req-1", outputs);

    [Fact]
    public void Json_outputs_are_written_with_flat_data()
    {
        var json = ResponseJson(Response(TensorOf("y", "INT32", [2, 2], 1, -2, 3, 4)));

        Assert.Equal(
            """{"model_name":"resnet","model_version":"3","id":"req-1","outputs":[{"name":"y","datatype":"INT32","shape":[2,2],"data":[1,-2,3,4]}]}""",
            json);
    }

    [Fact]
    public void The_id_is_left_out_when_the_request_had_none()
    {
        var json = ResponseJson(new InferenceResponse("m", "1", null, []));

        Assert.Equal("""{"model_name":"m","model_version":"1","outputs":[]}""", json);
    }

    public static TheoryData<Tensor, string> EveryDatatype => new()
    {
        { new Tensor("y", ElementType.Bool, [3], [1, 0, 1]), "[true,false,true]" },
        { TensorOf<byte>("y", "UINT8", [2], 0, 255), "[0,255]" },
        { TensorOf<sbyte>("y", "INT8", [2], -128, 127), "[-128,127]" },
        { TensorOf<ushort>("y", "UINT16", [2], 0, 65535), "[0,65535]" },
        { TensorOf<short>("y", "INT16", [2], -32768, 32767), "[-32768,32767]" },
        { TensorOf<uint>("y", "UINT32", [2], 0, 4294967295), "[0,4294967295]" },
        { TensorOf("y", "INT32", [2], int.MinValue, int.MaxValue), "[-2147483648,2147483647]" },
        { TensorOf<ulong>("y", "UINT64", [2], 0, ulong.MaxValue), "[0,18446744073709551615]" },
        { TensorOf("y", "INT64", [2], long.MinValue, long.MaxValue), "[-9223372036854775808,9223372036854775807]" },
        { TensorOf("y", "FP16", [3], (Half)0.1, (Half)(-2), (Half)65504), "[0.099975586,-2,65504]" },
        { TensorOf("y", "FP32", [3], 0.1f, -2f, float.MaxValue), "[0.1,-2,3.4028235E+38]" },
        { TensorOf("y", "FP64", [3], 0.1, -2.0, double.MaxValue), "[0.1,-2,1.7976931348623157E+308]" },
    };

    [Theory]
    [MemberData(nameof(EveryDatatype))]
    public void Every_datatype_is_written_as_json_values(Tensor output, string expectedData)
    {
        var json = ResponseJson(Response(output));

        Assert.Contains($"\"data\":{expectedData}}}", json, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(EveryDatatype))]
    public void Every_datatype_survives_the_trip_through_json_and_back(Tensor output, string _)
    {
        var back = Assert.Single(RoundTrip(Response(output)));

        Assert.Equal(output.Data, back.Data);
        Assert.Equal(output.Shape, back.Shape);
        Assert.Equal(output.ElementType, back.ElementType);
    }

    [Theory]
    [MemberData(nameof(EveryDatatype))]
    public void Every_datatype_survives_the_trip_through_binary_and_back(Tensor output, string _)
    {
        var back = Assert.Single(RoundTrip(Response(output), binary: true));

        Assert.Equal(output.Data, back.Data);
    }

    [Fact]
    public void Multi_dimensional_outputs_are_written_flat()
    {
        var json = ResponseJson(Response(TensorOf<byte>("y", "UINT8", [2, 1, 3], 1, 2, 3, 4, 5, 6)));

        Assert.Contains("\"shape\":[2,1,3],\"data\":[1,2,3,4,5,6]", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_finite_floats_are_written_as_strings_the_parser_reads_back()
    {
        var response = Response(
            TensorOf("h", "FP16", [3], Half.NaN, Half.PositiveInfinity, Half.NegativeInfinity),
            TensorOf("f", "FP32", [3], float.NaN, float.PositiveInfinity, float.NegativeInfinity),
            TensorOf("d", "FP64", [3], double.NaN, double.PositiveInfinity, double.NegativeInfinity));

        var json = ResponseJson(response);
        var back = RoundTrip(response);

        Assert.Equal(3, json.Split("""["NaN","Infinity","-Infinity"]""").Length - 1);
        Assert.Equal(response.Outputs[1].Data, back[1].Data);
        Assert.Equal(response.Outputs[2].Data, back[2].Data);
        Assert.True(Half.IsNaN(Values<Half>(back[0])[0]));
    }

    [Fact]
    public void Every_fp16_value_survives_json()
    {
        var all = Enumerable.Range(0, 1 << 16).Select(bits => BitConverter.UInt16BitsToHalf((ushort)bits)).ToArray();

        var back = Values<Half>(RoundTrip(Response(TensorOf("h", "FP16", [all.Length], all)))[0]);

        for (var i = 0; i < all.Length; i++)
        {
            if (Half.IsNaN(all[i]))
            {
                Assert.True(Half.IsNaN(back[i]));
            }
            else
            {
                Assert.True(BitConverter.HalfToUInt16Bits(all[i]) == BitConverter.HalfToUInt16Bits(back[i]), $"FP16 bits {i:X4} came back as {BitConverter.HalfToUInt16Bits(back[i]):X4}");
            }
        }
    }

    [Fact]
    public void Random_fp32_and_fp64_bit_patterns_survive_json()
    {
        var random = new Random(20240611);
        var floats = new float[20_000];
        var doubles = new double[20_000];
        for (var i = 0; i < floats.Length; i++)
        {
            floats[i] = BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31));
            doubles[i] = BitConverter.Int64BitsToDouble(random.NextInt64() ^ ((long)random.Next(2) << 63));
        }
        floats[0] = float.Epsilon;
        floats[1] = -0f;
        doubles[0] = double.Epsilon;
        doubles[1] = -0.0;
        floats = floats.Select(f => float.IsNaN(f) ? 1f : f).ToArray();
        doubles = doubles.Select(d => double.IsNaN(d) ? 1.0 : d).ToArray();

        var back = RoundTrip(Response(TensorOf("f", "FP32", [floats.Length], floats), TensorOf("d", "FP64", [doubles.Length], doubles)));

        Assert.Equal(Bytes(floats), back[0].Data);
        Assert.Equal(Bytes(doubles), back[1].Data);
    }

    [Fact]
    public void Binary_outputs_get_a_size_in_the_header_and_their_bytes_after_it()
    {
        var output = TensorOf("y", "FP32", [2], 1.5f, -3f);
        var buffer = new ArrayBufferWriter<byte>();

        var headerLength = InferResponseWriter.Write(buffer, Response(output), binaryOutputDefault: true);

        Assert.NotNull(headerLength);
        var header = Encoding.UTF8.GetString(buffer.WrittenSpan[..headerLength.Value]);
        Assert.Equal(
            """{"model_name":"resnet","model_version":"3","id":"req-1","outputs":[{"name":"y","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]}""",
            header);
        Assert.Equal(output.Data, buffer.WrittenSpan[headerLength.Value..].ToArray());
    }

    [Fact]
    public void Per_output_choices_override_the_default_and_binary_parts_keep_output_order()
    {
        var a = TensorOf("a", "INT16", [1], (short)7);
        var b = TensorOf("b", "INT16", [1], (short)8);
        var c = TensorOf("c", "INT16", [1], (short)9);
        var buffer = new ArrayBufferWriter<byte>();

        var headerLength = InferResponseWriter.Write(
            buffer, Response(a, b, c), binaryOutputDefault: true, new Dictionary<string, bool> { ["b"] = false })!.Value;

        using var header = JsonDocument.Parse(buffer.WrittenMemory[..headerLength]);
        var outputs = header.RootElement.GetProperty("outputs");
        Assert.Equal(2, outputs[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(8, outputs[1].GetProperty("data")[0].GetInt32());
        Assert.False(outputs[1].TryGetProperty("parameters", out _));
        Assert.False(outputs[2].TryGetProperty("data", out _));
        Assert.Equal(Bytes<short>(7, 9), buffer.WrittenSpan[headerLength..].ToArray());
    }

    [Fact]
    public void The_parsed_request_decides_which_outputs_are_binary()
    {
        var request = Parse("""{"inputs":[],"outputs":[{"name":"a","parameters":{"binary_data":true}},{"name":"b"}]}""");
        var response = Response(TensorOf("a", "UINT8", [1], (byte)1), TensorOf("b", "UINT8", [1], (byte)2));
        var buffer = new ArrayBufferWriter<byte>();

        var headerLength = InferResponseWriter.Write(buffer, response, request);

        Assert.Equal([1], buffer.WrittenSpan[headerLength!.Value..].ToArray());
    }

    [Fact]
    public void No_header_length_when_no_output_is_binary()
    {
        using var encoded = InferResponseWriter.Encode(Response(TensorOf("y", "FP64", [1], 1.0)));

        Assert.Null(encoded.InferenceHeaderContentLength);
        Assert.Equal("application/json", encoded.ContentType);
        Assert.Equal(encoded.Header.Length, encoded.ContentLength);
    }

    [Fact]
    public async Task Encoding_first_tells_the_headers_and_then_writes_the_same_body()
    {
        var response = Response(TensorOf("a", "FP32", [3], 1f, 2f, 3f), TensorOf("b", "INT64", [1], 5L));
        var direct = new ArrayBufferWriter<byte>();
        var directHeaderLength = InferResponseWriter.Write(direct, response, binaryOutputDefault: true);

        using var encoded = InferResponseWriter.Encode(response, binaryOutputDefault: true);
        using var stream = new MemoryStream();
        await encoded.WriteToAsync(stream);
        var copied = new ArrayBufferWriter<byte>();
        encoded.WriteTo(copied);

        Assert.Equal(directHeaderLength, encoded.InferenceHeaderContentLength);
        Assert.Equal("application/octet-stream", encoded.ContentType);
        Assert.Equal(direct.WrittenCount, encoded.ContentLength);
        Assert.Equal(direct.WrittenSpan.ToArray(), stream.ToArray());
        Assert.Equal(direct.WrittenSpan.ToArray(), copied.WrittenSpan.ToArray());
    }

    [Fact]
    public async Task Writing_to_a_stream_returns_the_header_length()
    {
        using var stream = new MemoryStream();

        var headerLength = await InferResponseWriter.WriteAsync(stream, Response(TensorOf<byte>("y", "UINT8", [2], 4, 5)), binaryOutputDefault: true);

        Assert.Equal((int)stream.Length - 2, headerLength);
        Assert.Equal([4, 5], stream.ToArray()[^2..]);
    }

    [Fact]
    public void A_disposed_encoding_cannot_be_read()
    {
        var encoded = InferResponseWriter.Encode(Response());
        encoded.Dispose();

        Assert.Throws<ObjectDisposedException>(() => encoded.Header);
    }

    [Fact]
    public void Large_json_responses_grow_the_pooled_buffer()
    {
        var values = Enumerable.Range(0, 50_000).Select(i => i * 0.37f).ToArray();
        var response = Response(TensorOf("y", "FP32", [values.Length], values));

        using var encoded = InferResponseWriter.Encode(response);

        Assert.Equal(ResponseJson(response), Encoding.UTF8.GetString(encoded.Header.Span));
    }

    [Fact]
    public void Output_names_and_ids_are_escaped()
    {
        var json = ResponseJson(new InferenceResponse("m\"1", "1", "a\\b", [TensorOf("y\n", "UINT8", [1], (byte)1)]));

        using var document = JsonDocument.Parse(json);
        Assert.Equal("m\"1", document.RootElement.GetProperty("model_name").GetString());
        Assert.Equal("a\\b", document.RootElement.GetProperty("id").GetString());
        Assert.Equal("y\n", document.RootElement.GetProperty("outputs")[0].GetProperty("name").GetString());
    }

    [Theory]
    [InlineData((ElementType)99, 4)]
    [InlineData(ElementType.Fp32, 3)]
    [InlineData(ElementType.Fp32, 12)]
    public void Outputs_that_do_not_fit_their_shape_or_datatype_are_a_server_bug_and_nothing_is_written(ElementType type, int bytes)
    {
        var output = new Tensor("y", type, [2], new byte[bytes]);
        var buffer = new ArrayBufferWriter<byte>();

        Assert.Throws<ArgumentException>(() => InferResponseWriter.Write(buffer, Response(output)));
        Assert.Equal(0, buffer.WrittenCount);
    }
}
