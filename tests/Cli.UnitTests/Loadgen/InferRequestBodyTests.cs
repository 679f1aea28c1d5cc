using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace OrleansServe.Cli.UnitTests.Loadgen;

public sealed class InferRequestBodyTests
{
    private static readonly InputTensor Image = new("image", [2, 3]);
    private static readonly InputTensor Mask = new("mask", [2, 1]);
    private static readonly float[] ImageData = [0.5f, -1f, 0.1f, 3.25f, 1e-7f, -0f];
    private static readonly float[] MaskData = [1f, float.Epsilon];

    [Fact]
    public void Json_body_carries_name_shape_datatype_and_flat_data_of_every_input()
    {
        var body = InferRequestBody.ForJson([Image, Mask], [ImageData, MaskData]);

        Assert.Null(body.HeaderLength);
        Assert.Equal("application/json", body.ContentType);
        using var json = JsonDocument.Parse(body.Bytes);
        var inputs = json.RootElement.GetProperty("inputs");
        Assert.Equal(2, inputs.GetArrayLength());
        var image = inputs[0];
        Assert.Equal("image", image.GetProperty("name").GetString());
        Assert.Equal([2L, 3L], image.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal("FP32", image.GetProperty("datatype").GetString());
        Assert.Equal(ImageData, image.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Equal(MaskData, inputs[1].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));
        Assert.False(json.RootElement.TryGetProperty("outputs", out _));
    }

    [Fact]
    public void Binary_body_is_a_json_header_of_the_announced_length_followed_by_little_endian_floats_in_input_order()
    {
        var body = InferRequestBody.ForBinary([Image, Mask], [ImageData, MaskData], ["probabilities", "logits"]);

        Assert.Equal("application/octet-stream", body.ContentType);
        var headerLength = Assert.IsType<int>(body.HeaderLength);
        Assert.Equal(headerLength + ((ImageData.Length + MaskData.Length) * sizeof(float)), body.Bytes.Length);

        using var header = JsonDocument.Parse(body.Bytes.AsMemory(0, headerLength));
        var inputs = header.RootElement.GetProperty("inputs");
        Assert.Equal(ImageData.Length * sizeof(float), inputs[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(MaskData.Length * sizeof(float), inputs[1].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(inputs[0].TryGetProperty("data", out _));
        Assert.Equal([2L, 3L], inputs[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));

        var tail = body.Bytes.AsSpan(headerLength);
        var floats = new float[tail.Length / sizeof(float)];
        for (var i = 0; i < floats.Length; i++)
        {
            floats[i] = BinaryPrimitives.ReadSingleLittleEndian(tail[(i * sizeof(float))..]);
        }
        Assert.Equal(ImageData.Concat(MaskData), floats);
    }

    [Fact]
    public void Binary_body_asks_for_every_output_as_binary_data()
    {
        var body = InferRequestBody.ForBinary([Mask], [MaskData], ["probabilities", "logits"]);

        using var header = JsonDocument.Parse(body.Bytes.AsMemory(0, body.HeaderLength!.Value));
        var outputs = header.RootElement.GetProperty("outputs").EnumerateArray().ToList();
        Assert.Equal(["probabilities", "logits"], outputs.Select(o => o.GetProperty("name").GetString()));
        Assert.All(outputs, o => Assert.True(o.GetProperty("parameters").GetProperty("binary_data").GetBoolean()));
    }

    [Fact]
    public void Binary_header_is_plain_utf8_json_ending_where_the_tensor_bytes_begin()
    {
        var body = InferRequestBody.ForBinary([Mask], [MaskData], ["out"]);

        var header = Encoding.UTF8.GetString(body.Bytes, 0, body.HeaderLength!.Value);
        Assert.StartsWith("{", header);
        Assert.EndsWith("}", header);
    }

    [Fact]
    public void Data_that_does_not_fill_the_shape_is_refused()
    {
        Assert.Throws<ArgumentException>(() => InferRequestBody.ForJson([Image], [MaskData]));
        Assert.Throws<ArgumentException>(() => InferRequestBody.ForBinary([Image, Mask], [ImageData], []));
    }

    [Fact]
    public void Seeded_inputs_are_the_same_for_the_same_seed_and_differ_for_another()
    {
        var first = SeededInputs.Create([Image, Mask], seed: 7);
        var again = SeededInputs.Create([Image, Mask], seed: 7);
        var other = SeededInputs.Create([Image, Mask], seed: 8);

        Assert.Equal(first[0], again[0]);
        Assert.Equal(first[1], again[1]);
        Assert.NotEqual(first[0], other[0]);
        Assert.Equal(6, first[0].Length);
        Assert.All(first.SelectMany(values => values), v => Assert.InRange(v, -1f, 1f));
    }
}
