using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using OrleansServe.Onnx;
using OrleansServe.Onnx.Proto;
using OrleansServe.Tensors;
using Xunit.Abstractions;

namespace OrleansServe.ApiHost.FunctionalTests;

/// <summary>
/// Thousands of malformed, mismatched, huge, truncated and deeply nested requests and hostile model files: each gets
/// a clear 4xx (or a 503/413 refusal) with {"error": ...}, never a 5xx fault, while valid traffic keeps its answers.
/// </summary>
public sealed partial class HostileInputTests(ServerFactory server, ITestOutputHelper output) : IClassFixture<ServerFactory>
{
    private const int Seed = 20_261_123;
    private const int Cases = 3_000;

    private readonly HttpClient client = server.CreateClient();

    private static readonly string[] Datatypes =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES", "BF16",
         "", "fp32", "FP32 ", "FP3\u00e92", "\u0000"];

    private static readonly string[] DatatypeTokens = ["5", "null", "true", "[]", "{}", "\"FP32\\u0000\""];

    private static readonly string[] Shapes =
        ["[]", "[0]", "[0,3]", "[-1,3]", "[-5]", "[2,-3]", "[1099511627776,3]", "[4294967296,4294967296]", "[9223372036854775807,2]",
         "[3037000500,3037000500]", "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,3]", "[1.5,3]", "[\"1\",3]",
         "[null]", "3", "null", "[1e30,3]", "[2147483648,3]", "[65536,65536,65536]", "[1,3,0]", "[1024,3]"];

    private static readonly string[] Tokens =
        ["[", "]", "{", "}", ",", ":", "\"", "null", "1e999999", "-0", "\"NaN\"", "\\u0000", "\"\\ud800\"", "true", "{\"a\":1}", "\u00ff", "[[[", "]]]"];

    private static readonly string[] ParameterValues = ["\"yes\"", "1", "null", "{}", "[]", "true", "false", "-1e999"];

    private static readonly string[] ContentTypes =
        ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "application/octet-stream", "", "*/*"];

    [Fact]
    public async Task Malformed_infer_requests_get_a_4xx_json_error_while_concurrent_valid_traffic_stays_correct()
    {
        await using var valid = ValidTraffic.Start(client);
        var random = new Random(Seed);
        var requests = Enumerable.Range(0, Cases).Select(i => Mutate(random, i)).ToList();
        var failures = new List<string>();
        var statuses = new Dictionary<int, int>();

        // A few requests at a time, as many clients would send them.
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (hostile, _) =>
        {
            var (status, failure) = await SendAsync(hostile);
            lock (failures)
            {
                statuses[status] = statuses.GetValueOrDefault(status) + 1;
                if (failure is not null)
                {
                    failures.Add(failure);
                }
            }
        });

        await valid.StopAndAssertCorrectAsync();
        output.WriteLine($"{Cases} hostile requests answered {Summary(statuses)}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {Cases} answers broke the rules ({Summary(statuses)}):\n{string.Join('\n', failures.Take(25))}");
        Assert.True(statuses.Keys.Any(s => s >= 400), "the generator produced no bad request at all");
        await AssertStillServesAsync();
    }

    public static TheoryData<string, string> PathTricks => new()
    {
        { "POST", "/v2/models/..%2F..%2Fetc/infer" },
        { "POST", "/v2/models/%2E%2E/infer" },
        { "POST", "/v2/models/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/infer" },
        { "POST", "/v2/models/add/versions/..%2F1/infer" },
        { "POST", "/v2/models/add/versions/%2E%2E%2F1/infer" },
        { "POST", "/v2/models/add/versions/-1/infer" },
        { "POST", "/v2/models/add/versions/0/infer" },
        { "POST", "/v2/models/add/versions/01/infer" },
        { "POST", "/v2/models/add/versions/1e3/infer" },
        { "POST", "/v2/models/add/versions/99999999999999999999999999/infer" },
        { "POST", "/v2/models/add/versions/9223372036854775807/infer" },
        { "GET", "/v2/models/add/versions/%20/ready" },
        { "POST", "/v2/models/add%2Fx/infer" },
        { "POST", "/v2/models/%C3%A9t%C3%A9/infer" },
        { "POST", "/v2/models/%F0%9F%94%A5/infer" },
        { "POST", "/v2/models/%FF%FE/infer" },
        { "GET", "/v2/models/%E2%80%AEadd" },
        { "GET", "/v2/models/" + "a%2F" + "/stats" },
        { "POST", "/v2/models/" + new string('a', 129) + "/infer" },
        { "POST", "/v2/models/" + new string('a', 20_000) + "/infer" },
        { "GET", "/v2/models/" + new string('a', 20_000) },
        { "POST", "/v2/repository/models/..%2F..%2Fetc/load" },
        { "POST", "/v2/repository/models/%2E%2E/load" },
        { "POST", "/v2/repository/models/.hidden/load" },
        { "POST", "/v2/repository/models/" + new string('b', 5_000) + "/load" },
        { "POST", "/v2/repository/models/%2E%2E/unload" },
        { "GET", "/v2/admin/devices/..%2F..%2Fetc" },
        { "GET", "/v2/admin/devices/%FF" },
        { "GET", "/v2/models/add/infer" },
        { "DELETE", "/v2/models/add" },
        { "PUT", "/v2/repository/index" },
        { "PATCH", "/v2/admin/plan" },
        { "TRACE", "/v2/health/live" },
    };

    [Theory]
    [MemberData(nameof(PathTricks))]
    public async Task Path_tricks_in_model_names_and_versions_get_a_4xx_json_error(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative))
        {
            Content = method == "POST" ? Json.InferBody("x", [1, 3], [1, 2, 3]) : null,
        };

        var response = await client.SendAsync(request);

        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"{method} {path[..Math.Min(path.Length, 80)]}: {status}");
        Assert.False(string.IsNullOrEmpty(await Json.ErrorAsync(response)));
    }

    /// <summary>Hostile model folders: (name, model file bytes or null for none, config.json or null for none).</summary>
    public static IEnumerable<(string Name, byte[]? Onnx, string? Config)> HostileModels()
    {
        var valid = TestModels.AddConstant(2f);
        var random = new Random(Seed);
        foreach (var cut in new[] { 1, 2, 7, valid.Length / 3, valid.Length / 2, valid.Length - 20, valid.Length - 1 })
        {
            yield return ($"h_truncated_{cut}", valid[..cut], null);
        }
        for (var i = 0; i < 4; i++)
        {
            var flipped = (byte[])valid.Clone();
            for (var k = 0; k < 8; k++)
            {
                flipped[random.Next(flipped.Length)] = (byte)random.Next(256);
            }
            yield return ($"h_flipped_{i}", flipped, null);
        }
        var garbage = new byte[4096];
        random.NextBytes(garbage);
        yield return ("h_garbage", garbage, null);
        yield return ("h_empty", [], null);
        yield return ("h_json_as_onnx", Encoding.UTF8.GetBytes("""{"graph": "no"}"""), null);
        yield return ("h_dims_2_pow_40", WithInput(1L << 40, 3), null);
        yield return ("h_dims_max_int_squared", WithInput(int.MaxValue, int.MaxValue), null);
        yield return ("h_dims_negative", WithInput(-7, 3), null);
        yield return ("h_rank_9", WithShape(Enumerable.Repeat(2L, 9).ToArray()), null);
        yield return ("h_initializer_2_pow_40", WithInitializerDims([1L << 40]), null);
        yield return ("h_initializer_overflowing", WithInitializerDims([1L << 40, 1L << 40, 1L << 40]), null);
        yield return ("h_initializer_negative", WithInitializerDims([-3]), null);
        yield return ("h_unknown_op", WithOp("NoSuchOperator"), null);
        yield return ("h_dangling_input", WithNodeInput("missing"), null);
        yield return ("h_no_opset", WithoutOpset(), null);
        yield return ("h_config_traversal", valid, """{"inputs": [{"name": "../../../../etc/passwd", "dims": [3]}]}""");
        yield return ("h_config_absurd_batch", valid, """{"max_batch_size": 1e308}""");
        yield return ("h_config_negative_queue", valid, """{"max_queue_size": -1}""");
        yield return ("h_config_absurd_dims", valid, """{"inputs": [{"name": "x", "dims": [9223372036854775807]}]}""");
        yield return ("h_config_huge_dims", valid, """{"inputs": [{"name": "x", "dims": [2147483647, 2147483647]}]}""");
        yield return ("h_config_deep", valid, new string('[', 5_000) + new string(']', 5_000));
        yield return ("h_config_binary", valid, "\u0000\u00ff\ufffe{");
        yield return ("h_config_huge_slo", valid, """{"slo_ms": 1e400, "priority": 99999999999}""");
    }

    [Fact]
    public async Task Hostile_model_files_are_refused_with_a_json_error_and_valid_traffic_is_unaffected()
    {
        await using var valid = ValidTraffic.Start(client);
        var failures = new List<string>();

        foreach (var (name, onnx, config) in HostileModels())
        {
            WriteModel(name, onnx, config);
            var load = await client.PostAsync($"/v2/repository/models/{name}/load", null);
            var status = (int)load.StatusCode;
            var body = await load.Content.ReadAsStringAsync();
            output.WriteLine($"{name}: {status} {Clip(body)}");
            if (status == 200)
            {
                // A model that loads must serve or refuse requests cleanly, whatever its declared shapes.
                var infer = await client.PostAsync($"/v2/models/{name}/infer", Json.InferBody("x", [1, 3], [1, 2, 3]));
                var inferStatus = (int)infer.StatusCode;
                if (inferStatus >= 500 && inferStatus != 503 || inferStatus >= 400 && !HasError(await infer.Content.ReadAsStringAsync()))
                {
                    failures.Add($"{name}: loaded, then infer answered {inferStatus}");
                }
            }
            else if (status is not (400 or 404 or 503) || !HasError(body))
            {
                failures.Add($"{name}: load answered {status} {Clip(body)}");
            }
            else
            {
                var ready = await client.GetAsync($"/v2/models/{name}/ready");
                if (ready.StatusCode != HttpStatusCode.ServiceUnavailable && ready.StatusCode != HttpStatusCode.NotFound)
                {
                    failures.Add($"{name}: refused to load but ready answered {(int)ready.StatusCode}");
                }
            }
        }
        var index = await client.PostAsync("/v2/repository/index", null);

        await valid.StopAndAssertCorrectAsync();
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        await AssertStillServesAsync();
    }

    [Theory]
    [InlineData("h_device_model", "1/model.onnx")]
    [InlineData("h_device_config", "config.json")]
    public async Task A_model_or_config_file_that_is_a_never_ending_device_is_refused_without_reading_it_all(string name, string file)
    {
        WriteModel(name, TestModels.AddConstant(2f), null);
        var path = Path.Combine(server.Repository, name, file);
        File.Delete(path);
        File.CreateSymbolicLink(path, "/dev/zero");

        // A bounded wait, so that a server reading without end fails the test instead of hanging it.
        var load = await client.PostAsync($"/v2/repository/models/{name}/load", null).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.BadRequest, load.StatusCode);
        Assert.Contains("failed to load", await Json.ErrorAsync(load));
        await AssertStillServesAsync();
    }

    [Theory]
    [InlineData("[1048576,1048576]")]
    [InlineData("[4611686018427387904,4]")]
    [InlineData("[-1,4]")]
    [InlineData("[0,4]")]
    public async Task A_model_whose_output_size_the_request_chooses_refuses_absurd_sizes_with_a_json_error(string requested)
    {
        var graph = new OnnxGraphBuilder("constant_of_shape");
        graph.AddInput("shape", ElementType.Int64, 2);
        graph.AddNode("ConstantOfShape", ["shape"], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, "rows", "columns");
        WriteModel("h_constant_of_shape", graph.ToBytes(), null);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/repository/models/h_constant_of_shape/load", null)).StatusCode);

        var response = await client.PostAsync("/v2/models/h_constant_of_shape/infer",
            Json.Body($$"""{"inputs":[{"name":"shape","shape":[2],"datatype":"INT64","data":{{requested}}}]}"""));

        var status = (int)response.StatusCode;
        Assert.True(status is 200 or (>= 400 and < 500), $"{requested}: {status} {await response.Content.ReadAsStringAsync()}");
        if (status != 200)
        {
            Assert.False(string.IsNullOrEmpty(await Json.ErrorAsync(response)));
        }
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task Requests_whose_values_make_the_model_fail_get_400_and_the_valid_requests_batched_with_them_stay_correct()
    {
        // y = table[index]: an index outside the table makes ONNX Runtime fail the whole batch it is in.
        var graph = new OnnxGraphBuilder("gather");
        graph.AddInput("index", ElementType.Int64, "batch", 1);
        var table = graph.AddInitializer("table", [3], [10f, 20f, 30f]);
        graph.AddNode("Gather", [table, "index"], ["y"], OnnxAttribute.Int("axis", 0));
        graph.AddOutput("y", ElementType.Fp32, "batch", 1);
        WriteModel("h_gather", graph.ToBytes(), """{"max_batch_size": 16}""");
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/repository/models/h_gather/load", null)).StatusCode);
        var random = new Random(Seed + 2);
        var indices = Enumerable.Range(0, 300).Select(_ => random.Next(5) == 0 ? new[] { 99L, -100, 3, long.MaxValue }[random.Next(4)] : random.Next(3)).ToList();

        var answers = await Task.WhenAll(indices.Select(async index =>
        {
            var response = await client.PostAsync("/v2/models/h_gather/infer",
                Json.Body($$"""{"inputs":[{"name":"index","shape":[1,1],"datatype":"INT64","data":[{{index}}]}]}"""));
            return (index, response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));

        foreach (var (index, status, body) in answers)
        {
            if (index is >= 0 and < 3)
            {
                Assert.True(status == HttpStatusCode.OK, $"index {index}: {(int)status} {Clip(body)}");
                var y = Json.OutputData(JsonDocument.Parse(body).RootElement, "y");
                Assert.Equal([10f * (index + 1)], y);
            }
            else
            {
                Assert.True(status == HttpStatusCode.BadRequest, $"index {index}: {(int)status} {Clip(body)}");
                Assert.True(HasError(body));
            }
        }
        await AssertStillServesAsync();
    }

    public static TheoryData<string, string, string, string> HostileManagementBodies => new()
    {
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", "" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", "{" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", "null" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", "[]" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":null}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[null]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":-5}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":1000}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":60},{"sm_percent":60}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":2147483647}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":1e400}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":"50"}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":100,"memory_bytes":-1}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":100,"memory_bytes":9223372036854775807}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":100,"models":[null]}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":100,"models":["../../etc"]}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", """{"partitions":[{"sm_percent":50,"models":["add"]},{"sm_percent":50,"models":["add"]}]}""" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", "{\"partitions\":[" + string.Join(',', Enumerable.Repeat("{\"sm_percent\":1}", 101)) + "]}" },
        { "POST", "/v2/admin/devices/cpu0/partitions", "application/json", "{\"partitions\":" + new string('[', 5000) + new string(']', 5000) + "}" },
        { "PUT", "/v2/admin/profiles", "text/csv", "" },
        { "PUT", "/v2/admin/profiles", "text/csv", "\u0000\u00ff\"\"\"" },
        { "PUT", "/v2/admin/profiles", "text/csv", "a,b,c\n1,2,3\n" },
        { "PUT", "/v2/admin/profiles", "text/csv", string.Concat(Enumerable.Repeat("\"", 10_000)) },
        { "PUT", "/v2/admin/profiles", "text/csv", "model,batch,sm_percent,latency_ms\nadd,1,50,NaN\nadd,-1,500,-3\nadd,99999999999999999999,50,1e400\n" },
        { "PUT", "/v2/admin/profiles", "text/csv", "model,batch,sm_percent,latency_ms\n../../etc,1,50,1\n" + string.Concat(Enumerable.Repeat("add,1,50,1\n", 20_000)) },
    };

    [Theory]
    [MemberData(nameof(HostileManagementBodies))]
    public async Task Hostile_admin_bodies_get_a_4xx_json_error_or_are_applied(string method, string path, string contentType, string body)
    {
        var content = new StringContent(body, Encoding.UTF8, contentType);

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = content });

        var status = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status is 200 or (>= 400 and < 500) or 503, $"{Clip(body)}: {status} {Clip(text)}");
        Assert.True(status == 200 || HasError(text), $"{Clip(body)}: {status} without a JSON error: {Clip(text)}");
        await AssertStillServesAsync();
    }

    [Fact]
    public async Task A_model_or_config_path_that_is_a_folder_is_refused_with_a_json_error()
    {
        WriteModel("h_folder_config", TestModels.AddConstant(2f), null);
        Directory.CreateDirectory(Path.Combine(server.Repository, "h_folder_config", "config.json"));
        Directory.CreateDirectory(Path.Combine(server.Repository, "h_folder_model", "1", "model.onnx"));

        var folderConfig = await client.PostAsync("/v2/repository/models/h_folder_config/load", null);
        var folderModel = await client.PostAsync("/v2/repository/models/h_folder_model/load", null);

        Assert.InRange((int)folderConfig.StatusCode, 200, 499);
        Assert.False((int)folderConfig.StatusCode >= 400 && string.IsNullOrEmpty(await Json.ErrorAsync(folderConfig)));
        Assert.InRange((int)folderModel.StatusCode, 400, 499);
        Assert.False(string.IsNullOrEmpty(await Json.ErrorAsync(folderModel)));
    }

    private void WriteModel(string name, byte[]? onnx, string? config)
    {
        var folder = Path.Combine(server.Repository, name);
        Directory.CreateDirectory(Path.Combine(folder, "1"));
        if (onnx is not null)
        {
            File.WriteAllBytes(Path.Combine(folder, "1", "model.onnx"), onnx);
        }
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(folder, "config.json"), config);
        }
    }

    private static Model AddModel() => Model.Parser.ParseFrom(TestModels.AddConstant(2f));

    private static byte[] WithShape(long[] dims)
    {
        var model = AddModel();
        var shape = model.Graph.Input[0].Type.TensorType.Shape;
        shape.Dim.Clear();
        shape.Dim.Add(dims.Select(d => new Shape.Types.Dimension { DimValue = d }));
        return model.ToByteArray();
    }

    private static byte[] WithInput(long batch, long width) => WithShape([batch, width]);

    private static byte[] WithInitializerDims(long[] dims)
    {
        var model = AddModel();
        var initializer = model.Graph.Initializer[0];
        initializer.Dims.Clear();
        initializer.Dims.Add(dims);
        return model.ToByteArray();
    }

    private static byte[] WithOp(string op)
    {
        var model = AddModel();
        model.Graph.Node[0].OpType = op;
        return model.ToByteArray();
    }

    private static byte[] WithNodeInput(string input)
    {
        var model = AddModel();
        model.Graph.Node[0].Input[0] = input;
        return model.ToByteArray();
    }

    private static byte[] WithoutOpset()
    {
        var model = AddModel();
        model.OpsetImport.Clear();
        return model.ToByteArray();
    }

    /// <summary>One generated request: the model it targets, its body, content type and binary-extension header.</summary>
    private sealed record Hostile(string Why, string Path, byte[] Body, string? ContentType, string? HeaderLength);

    private static Hostile Mutate(Random random, int index)
    {
        var (model, json, binary) = random.Next(4) switch
        {
            0 => ("add", """{"id":"f","inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}""", Array.Empty<byte>()),
            1 => ("add", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[[1,2,3]]}],"outputs":[{"name":"y","parameters":{"binary_data":true}}],"parameters":{"binary_data_output":true}}""", []),
            2 => ("typed", """{"inputs":[{"name":"fp32","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"fp16","shape":[1,4],"datatype":"FP16","data":[1,2,3,4]},{"name":"int64","shape":[1,4],"datatype":"INT64","data":[1,2,3,4]},{"name":"int32","shape":[1,4],"datatype":"INT32","data":[1,2,3,4]},{"name":"int8","shape":[1,4],"datatype":"INT8","data":[1,2,3,4]},{"name":"uint8","shape":[1,4],"datatype":"UINT8","data":[1,2,3,4]},{"name":"bool","shape":[1,4],"datatype":"BOOL","data":[true,false,true,false]}]}""", []),
            _ => ("add", """{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":24}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}""",
                MemoryMarshal.AsBytes<float>([1, 2, 3, 4, 5, 6]).ToArray()),
        };
        var path = random.Next(10) == 0 ? $"/v2/models/{model}/versions/1/infer" : $"/v2/models/{model}/infer";
        var header = Encoding.UTF8.GetBytes(json);
        string? headerLength = binary.Length > 0 ? header.Length.ToString(CultureInfo.InvariantCulture) : null;
        string? contentType = binary.Length > 0 ? "application/octet-stream" : "application/json";
        var kind = random.Next(13);
        switch (kind)
        {
            case 0: // truncated anywhere, the binary part included
                var whole = Concat(header, binary);
                return new($"truncated ({index})", path, whole[..random.Next(whole.Length)], contentType, headerLength);
            case 1: // flipped bytes
                var flipped = Concat(header, binary);
                for (var k = random.Next(1, 6); k > 0; k--)
                {
                    flipped[random.Next(flipped.Length)] = (byte)random.Next(256);
                }
                return new($"flipped ({index})", path, flipped, contentType, headerLength);
            case 2: // a structural token inserted
                var at = random.Next(json.Length);
                json = json[..at] + Tokens[random.Next(Tokens.Length)] + json[at..];
                break;
            case 3: // datatype swapped
                var datatype = random.Next(4) == 0 ? DatatypeTokens[random.Next(DatatypeTokens.Length)] : JsonSerializer.Serialize(Datatypes[random.Next(Datatypes.Length)]);
                json = DatatypePattern().Replace(json, $"\"datatype\":{datatype}", 1);
                break;
            case 4: // shape swapped
                json = ShapePattern().Replace(json, $"\"shape\":{Shapes[random.Next(Shapes.Length)]}", 1);
                break;
            case 5: // deeply nested data or parameters
                var depth = new[] { 65, 200, 1_000, 5_000, 30_000 }[random.Next(5)];
                var nested = random.Next(2) == 0
                    ? new string('[', depth) + "1" + new string(']', depth)
                    : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                json = random.Next(2) == 0
                    ? DataPattern().Replace(json, $"\"data\":{nested}", 1)
                    : json.Insert(1, $"\"parameters\":{nested},");
                break;
            case 6: // a wrong content type
                contentType = ContentTypes[random.Next(ContentTypes.Length)];
                break;
            case 7: // a lying Inference-Header-Content-Length
                var total = header.Length + binary.Length;
                headerLength = new[] { "0", "-1", "1", (header.Length - 1).ToString(CultureInfo.InvariantCulture), (header.Length + 1).ToString(CultureInfo.InvariantCulture),
                    (total + 1).ToString(CultureInfo.InvariantCulture), int.MaxValue.ToString(CultureInfo.InvariantCulture), "4294967296", "abc", " 5", "1e3", "" }[random.Next(12)];
                break;
            case 8: // a lying binary_data_size (or one where there was none)
                var size = new[] { 0L, 1, 23, 25, 48, -24, int.MaxValue, long.MaxValue, 1L << 40 }[random.Next(9)];
                json = json.Contains("binary_data_size", StringComparison.Ordinal)
                    ? BinarySizePattern().Replace(json, $"\"binary_data_size\":{size}", 1)
                    : DataPattern().Replace(json, $"\"parameters\":{{\"binary_data_size\":{size}}}", 1);
                if (binary.Length == 0)
                {
                    binary = new byte[random.Next(64)];
                    headerLength = header.Length.ToString(CultureInfo.InvariantCulture);
                }
                break;
            case 9: // garbage
                var garbage = new byte[random.Next(4096)];
                random.NextBytes(garbage);
                return new($"garbage ({index})", path, garbage, contentType, random.Next(2) == 0 ? null : random.Next(5000).ToString(CultureInfo.InvariantCulture));
            case 10: // far more data than the shape says, sometimes over the body limit
                var count = random.Next(2) == 0 ? 30_000 : (int)(ServerFactory.BodyLimit / 2) + 10;
                json = DataPattern().Replace(json, $"\"data\":[{string.Join(',', Enumerable.Repeat("1", count))}]", 1);
                break;
            case 11: // duplicated inputs, odd ids, names with control characters
                json = new[]
                {
                    json.Replace("\"inputs\":[{", "\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\",\"data\":[1,2,3]},{", StringComparison.Ordinal),
                    json.Replace("\"name\":\"x\"", "\"name\":\"x\\u0000\"", StringComparison.Ordinal),
                    json.Insert(1, "\"id\":{\"nested\":[1,2]},"),
                    json.Insert(1, "\"inputs\":null,"),
                    json.Replace("\"outputs\":[", "\"outputs\":[{\"name\":\"y\"},", StringComparison.Ordinal),
                    json.Insert(1, $"\"parameters\":{{\"binary_data_output\":{ParameterValues[random.Next(ParameterValues.Length)]}}},"),
                    json.Insert(1, $"\"outputs\":[{{\"name\":\"y\",\"parameters\":{{\"binary_data\":{ParameterValues[random.Next(ParameterValues.Length)]},\"classification\":3}}}}],"),
                    json.Insert(1, $"\"outputs\":{ParameterValues[random.Next(ParameterValues.Length)]},"),
                }[random.Next(8)];
                break;
            default: // invalid UTF-8 inside a string
                var bytes = Encoding.UTF8.GetBytes(json).ToList();
                var quote = bytes.IndexOf((byte)'"', random.Next(bytes.Count / 2));
                bytes.InsertRange(Math.Max(quote + 1, 1), new byte[] { 0xC3, 0x28, 0xFF });
                return new($"invalid utf-8 ({index})", path, Concat([.. bytes], binary), contentType, headerLength is null ? null : (header.Length + 3).ToString(CultureInfo.InvariantCulture));
        }
        header = Encoding.UTF8.GetBytes(json);
        if (binary.Length > 0 && kind != 7)
        {
            headerLength = header.Length.ToString(CultureInfo.InvariantCulture);
        }
        return new($"kind {kind} ({index})", path, Concat(header, binary), contentType, headerLength);
    }

    private static byte[] Concat(byte[] a, byte[] b) => [.. a, .. b];

    private async Task<(int Status, string? Failure)> SendAsync(Hostile hostile)
    {
        var content = new ByteArrayContent(hostile.Body);
        if (!string.IsNullOrEmpty(hostile.ContentType))
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(hostile.ContentType);
        }
        if (hostile.HeaderLength is not null)
        {
            content.Headers.TryAddWithoutValidation("Inference-Header-Content-Length", hostile.HeaderLength);
        }
        using var response = await client.PostAsync(hostile.Path, content);
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync();
        if (status >= 500 && status != 503)
        {
            return (status, $"{hostile.Why}: {status} {Clip(body)} for {Clip(Encoding.UTF8.GetString(hostile.Body))}");
        }
        if (status >= 400 && (response.Content.Headers.ContentType?.MediaType != "application/json" || !HasError(body)))
        {
            return (status, $"{hostile.Why}: {status} without a JSON error: {Clip(body)}");
        }
        if (status == 413 && hostile.Body.Length <= ServerFactory.BodyLimit)
        {
            return (status, $"{hostile.Why}: 413 for a body of {hostile.Body.Length} bytes, under the limit");
        }
        return (status, null);
    }

    private static bool HasError(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String && error.GetString()!.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string Clip(string text) => text.Length <= 200 ? text : text[..200] + "...";

    private static string Summary(Dictionary<int, int> statuses) =>
        string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));

    private async Task AssertStillServesAsync()
    {
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/ready")).StatusCode);
        var response = await client.PostAsync("/v2/models/add/infer", Json.InferBody("x", [1, 3], [1, 2, 3]));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new float[] { 2.5f, 3.5f, 4.5f }, Json.OutputData(await Json.ReadAsync(response), "y"));
    }

    [GeneratedRegex("\"datatype\":\"[A-Z0-9]+\"")]
    private static partial Regex DatatypePattern();

    [GeneratedRegex("\"shape\":\\[[0-9,]*\\]")]
    private static partial Regex ShapePattern();

    [GeneratedRegex("\"data\":\\[[^\\]]*\\]\\]?")]
    private static partial Regex DataPattern();

    [GeneratedRegex("\"binary_data_size\":[0-9]+")]
    private static partial Regex BinarySizePattern();

    /// <summary>
    /// Valid requests to the "add" model (y = x + 1.5) sent one after another until stopped; every answer must be
    /// 200 with exactly the expected values.
    /// </summary>
    private sealed class ValidTraffic : IAsyncDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly List<string> wrong = [];
        private Task<int> loop = Task.FromResult(0);

        public static ValidTraffic Start(HttpClient client)
        {
            var traffic = new ValidTraffic();
            traffic.loop = Task.Run(() => traffic.RunAsync(client));
            return traffic;
        }

        private async Task<int> RunAsync(HttpClient client)
        {
            var random = new Random(Seed + 1);
            var sent = 0;
            while (!stop.IsCancellationRequested || sent == 0)
            {
                var batch = random.Next(1, 5);
                var x = Enumerable.Range(0, batch * 3).Select(_ => (float)random.Next(-1000, 1000) / 8).ToArray();
                using var response = await client.PostAsync("/v2/models/add/infer", Json.InferBody("x", [batch, 3], x), CancellationToken.None);
                sent++;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    wrong.Add($"valid request {sent}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    continue;
                }
                var y = Json.OutputData(await Json.ReadAsync(response), "y");
                if (!y.SequenceEqual(x.Select(v => v + 1.5f)))
                {
                    wrong.Add($"valid request {sent}: wrong values {string.Join(',', y)} for {string.Join(',', x)}");
                }
            }
            return sent;
        }

        public async Task StopAndAssertCorrectAsync()
        {
            await stop.CancelAsync();
            var sent = await loop;
            Assert.True(sent > 0);
            Assert.True(wrong.Count == 0, $"{wrong.Count} of {sent} valid requests went wrong:\n{string.Join('\n', wrong.Take(10))}");
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await ((Task)loop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            stop.Dispose();
        }
    }
}
