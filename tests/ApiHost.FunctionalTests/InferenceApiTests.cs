using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace OrleansServe.ApiHost.FunctionalTests;

public sealed class InferenceApiTests(ServerFactory server) : IClassFixture<ServerFactory>
{
    private readonly HttpClient client = server.CreateClient();

    public static TheoryData<string, string, long[], string> SampleModels => new()
    {
        { "tabular_mlp", "features", [1, 4], "probabilities" },
        { "mlp", "input", [1, 784], "probabilities" },
        { "lenet5", "input", [1, 1, 28, 28], "probabilities" },
        { "resnet_small", "input", [1, 3, 32, 32], "logits" },
        { "resnet_small", "input", [3, 3, 32, 32], "logits" },
    };

    [Theory]
    [MemberData(nameof(SampleModels))]
    public async Task Every_sample_model_answers_what_onnx_runtime_answers_for_the_same_file(string model, string input, long[] shape, string output)
    {
        var data = DirectOrt.RandomInput(shape, seed: 11);

        var response = await client.PostAsync($"/v2/models/{model}/infer", Json.InferBody(input, shape, data));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json.ReadAsync(response);
        Assert.Equal(model, body.GetProperty("model_name").GetString());
        Assert.Equal("1", body.GetProperty("model_version").GetString());
        Assert.Equal("t1", body.GetProperty("id").GetString());
        var expected = DirectOrt.Run(Path.Combine(server.Repository, model, "1", "model.onnx"), input, shape, data, output);
        var actual = Json.OutputData(body, output);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"element {i}: server {actual[i]}, direct {expected[i]}");
        }
    }

    [Fact]
    public async Task The_versioned_route_serves_the_same_model()
    {
        var response = await client.PostAsync("/v2/models/add/versions/1/infer", Json.InferBody("x", [1, 3], [1, 2, 3]));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new float[] { 2.5f, 3.5f, 4.5f }, Json.OutputData(await Json.ReadAsync(response), "y"));
    }

    [Fact]
    public async Task Binary_tensor_extension_round_trips_inputs_and_outputs()
    {
        float[] values = [1, 2, 3, 4, 5, 6];
        var header = Encoding.UTF8.GetBytes("""{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":24}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}""");
        var content = new ByteArrayContent([.. header, .. FloatBytes(values)]);
        content.Headers.ContentType = new("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var response = await client.PostAsync("/v2/models/add/infer", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var jsonLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var json = JsonDocument.Parse(bytes.AsMemory(0, jsonLength)).RootElement;
        var output = json.GetProperty("outputs")[0];
        Assert.Equal(24, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(new float[] { 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, 7.5f }, MemoryMarshal.Cast<byte, float>(bytes.AsSpan(jsonLength)).ToArray());
    }

    private static byte[] FloatBytes(float[] values) => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    [Fact]
    public async Task Every_supported_datatype_passes_through_json()
    {
        var body = """
        {"inputs": [
          {"name": "fp32", "shape": [1, 4], "datatype": "FP32", "data": [1.5, -2, 0, 3.25]},
          {"name": "fp16", "shape": [1, 4], "datatype": "FP16", "data": [1, 0.5, -2, 65504]},
          {"name": "int64", "shape": [1, 4], "datatype": "INT64", "data": [1, -9007199254740993, 0, 9223372036854775807]},
          {"name": "int32", "shape": [1, 4], "datatype": "INT32", "data": [[1, -2], [2147483647, -2147483648]]},
          {"name": "int8", "shape": [1, 4], "datatype": "INT8", "data": [1, -128, 127, 0]},
          {"name": "uint8", "shape": [1, 4], "datatype": "UINT8", "data": [0, 1, 254, 255]},
          {"name": "bool", "shape": [1, 4], "datatype": "BOOL", "data": [true, false, false, true]}
        ]}
        """;

        var response = await client.PostAsync("/v2/models/typed/infer", Json.Body(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var outputs = (await Json.ReadAsync(response)).GetProperty("outputs").EnumerateArray()
            .ToDictionary(o => o.GetProperty("name").GetString()!, o => o);
        Assert.Equal("[1.5,-2,0,3.25]", outputs["fp32_out"].GetProperty("data").GetRawText());
        Assert.Equal("[1,0.5,-2,65504]", outputs["fp16_out"].GetProperty("data").GetRawText());
        Assert.Equal("[1,-9007199254740993,0,9223372036854775807]", outputs["int64_out"].GetProperty("data").GetRawText());
        Assert.Equal("[1,-2,2147483647,-2147483648]", outputs["int32_out"].GetProperty("data").GetRawText());
        Assert.Equal("[1,-128,127,0]", outputs["int8_out"].GetProperty("data").GetRawText());
        Assert.Equal("[0,1,254,255]", outputs["uint8_out"].GetProperty("data").GetRawText());
        Assert.Equal("[true,false,false,true]", outputs["bool_out"].GetProperty("data").GetRawText());
        Assert.Equal("INT8", outputs["int8_out"].GetProperty("datatype").GetString());
    }

    [Fact]
    public async Task Requested_outputs_limit_the_answer()
    {
        var body = """{"inputs":[{"name":"fp32","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"fp16","shape":[1,4],"datatype":"FP16","data":[1,2,3,4]},{"name":"int64","shape":[1,4],"datatype":"INT64","data":[1,2,3,4]},{"name":"int32","shape":[1,4],"datatype":"INT32","data":[1,2,3,4]},{"name":"int8","shape":[1,4],"datatype":"INT8","data":[1,2,3,4]},{"name":"uint8","shape":[1,4],"datatype":"UINT8","data":[1,2,3,4]},{"name":"bool","shape":[1,4],"datatype":"BOOL","data":[true,true,true,true]}],"outputs":[{"name":"uint8_out"}]}""";
        var response = await client.PostAsync("/v2/models/typed/infer", Json.Body(body));
        var outputs = (await Json.ReadAsync(response)).GetProperty("outputs");
        Assert.Equal("uint8_out", Assert.Single(outputs.EnumerateArray()).GetProperty("name").GetString());
    }
}
