using System.Net;

namespace OrleansServe.ApiHost.FunctionalTests;

public sealed class ManagementApiTests(ServerFactory server) : IClassFixture<ServerFactory>
{
    private readonly HttpClient client = server.CreateClient();

    [Fact]
    public async Task Health_and_server_metadata_follow_the_protocol()
    {
        Assert.True((await Json.ReadAsync(await client.GetAsync("/v2/health/live"))).GetProperty("live").GetBoolean());
        Assert.True((await Json.ReadAsync(await client.GetAsync("/v2/health/ready"))).GetProperty("ready").GetBoolean());
        var metadata = await Json.ReadAsync(await client.GetAsync("/v2"));
        Assert.Equal("orleansserve", metadata.GetProperty("name").GetString());
        Assert.Contains("binary_tensor_data", metadata.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Model_metadata_comes_from_the_onnx_graph()
    {
        var metadata = await Json.ReadAsync(await client.GetAsync("/v2/models/lenet5"));
        Assert.Equal("lenet5", metadata.GetProperty("name").GetString());
        Assert.Equal("onnxruntime_onnx", metadata.GetProperty("platform").GetString());
        var input = metadata.GetProperty("inputs")[0];
        Assert.Equal("input", input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal("[-1,1,28,28]", input.GetProperty("shape").GetRawText());
        Assert.Equal(10, metadata.GetProperty("config").GetProperty("slo_ms").GetDouble());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/lenet5/versions/1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/lenet5/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/lenet5/versions/1/ready")).StatusCode);
    }

    [Fact]
    public async Task The_repository_index_lists_models_and_unload_then_load_round_trips()
    {
        var index = await Json.ReadAsync(await client.PostAsync("/v2/repository/index", null));
        var states = index.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("state").GetString());
        Assert.Equal("READY", states["mlp"]);
        Assert.Equal("UNAVAILABLE", states["broken"]);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/repository/models/tabular_mlp/unload", null)).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/v2/models/tabular_mlp/ready")).StatusCode);
        var refused = await client.PostAsync("/v2/models/tabular_mlp/infer", Json.InferBody("features", [1, 4], [1, 2, 3, 4]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/repository/models/tabular_mlp/load", null)).StatusCode);
        var served = await client.PostAsync("/v2/models/tabular_mlp/infer", Json.InferBody("features", [1, 4], [1, 2, 3, 4]));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task A_load_can_carry_its_own_config_json_until_a_plain_load_drops_it()
    {
        var repositoryConfig = (await Json.ReadAsync(await client.GetAsync("/v2/models/tabular_mlp"))).GetProperty("config").GetRawText();

        var loaded = await client.PostAsync("/v2/repository/models/tabular_mlp/load", Load("""{"max_batch_size": 2, "slo_ms": 25}"""));
        Assert.Equal(HttpStatusCode.OK, loaded.StatusCode);
        var config = (await Json.ReadAsync(await client.GetAsync("/v2/models/tabular_mlp"))).GetProperty("config");
        Assert.Equal(2, config.GetProperty("max_batch_size").GetInt32());
        Assert.Equal(25, config.GetProperty("slo_ms").GetDouble());
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/models/tabular_mlp/infer", Json.InferBody("features", [1, 4], [1, 2, 3, 4]))).StatusCode);

        // Refused overrides change nothing.
        foreach (var (body, reason) in new[]
        {
            (Load("""{"max_batch_size": 0}"""), "max_batch_size"),
            (Load("""{"no_such_field": 1}"""), "no_such_field"),
            (Load("not json"), "config override"),
            (new StringContent("""{"parameters": {"config": 7}}"""), "must be a string"),
            (new StringContent("""{"parameters": {"file:1/model.onnx": "AAAA"}}"""), "unknown load parameter"),
            (new StringContent("""{"parameters": """), "not JSON"),
        })
        {
            var refused = await client.PostAsync("/v2/repository/models/tabular_mlp/load", body);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(reason, (await Json.ReadAsync(refused)).GetProperty("error").GetString(), StringComparison.Ordinal);
        }
        config = (await Json.ReadAsync(await client.GetAsync("/v2/models/tabular_mlp"))).GetProperty("config");
        Assert.Equal(2, config.GetProperty("max_batch_size").GetInt32());

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/repository/models/tabular_mlp/load", null)).StatusCode);
        Assert.Equal(repositoryConfig, (await Json.ReadAsync(await client.GetAsync("/v2/models/tabular_mlp"))).GetProperty("config").GetRawText());

        static StringContent Load(string config) =>
            new(new System.Text.Json.Nodes.JsonObject { ["parameters"] = new System.Text.Json.Nodes.JsonObject { ["config"] = config } }.ToJsonString());
    }

    [Fact]
    public async Task Statistics_count_successes_failures_and_batches_in_tritons_format()
    {
        for (var i = 0; i < 3; i++)
        {
            await client.PostAsync("/v2/models/lenet5/infer", Json.InferBody("input", [2, 1, 28, 28], new float[2 * 28 * 28]));
        }
        await client.PostAsync("/v2/models/lenet5/infer", Json.InferBody("input", [1, 1, 28, 27], new float[28 * 27]));

        var stats = (await Json.ReadAsync(await client.GetAsync("/v2/models/lenet5/stats"))).GetProperty("model_stats")[0];
        Assert.Equal("lenet5", stats.GetProperty("name").GetString());
        Assert.True(stats.GetProperty("inference_count").GetInt64() >= 6);
        var inference = stats.GetProperty("inference_stats");
        Assert.True(inference.GetProperty("success").GetProperty("count").GetInt64() >= 3);
        Assert.True(inference.GetProperty("fail").GetProperty("count").GetInt64() >= 1);
        Assert.True(inference.GetProperty("compute_infer").GetProperty("ns").GetInt64() > 0);
        Assert.Contains(stats.GetProperty("batch_stats").EnumerateArray(), b => b.GetProperty("batch_size").GetInt32() == 2);

        var all = await Json.ReadAsync(await client.GetAsync("/v2/models/stats"));
        Assert.Contains(all.GetProperty("model_stats").EnumerateArray(), s => s.GetProperty("name").GetString() == "lenet5");
    }

    [Fact]
    public async Task The_plan_and_devices_are_visible_to_operators()
    {
        var plan = await Json.ReadAsync(await client.GetAsync("/v2/admin/plan"));
        var models = plan.GetProperty("assignments")[0].GetProperty("models").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Contains("resnet_small", models);
        var devices = await Json.ReadAsync(await client.GetAsync("/v2/admin/devices"));
        Assert.Equal("cpu", devices[0].GetProperty("description").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task The_planners_schedule_is_served_and_can_be_recomputed()
    {
        var replanned = await client.PostAsync("/v2/admin/schedule/replan", null);
        Assert.Equal(HttpStatusCode.OK, replanned.StatusCode);
        Assert.Equal("application/json", replanned.Content.Headers.ContentType?.MediaType);
        var fresh = await Json.ReadAsync(replanned);

        var latest = await Json.ReadAsync(await client.GetAsync("/v2/admin/schedule"));

        Assert.Equal("orleansserve", latest.GetProperty("policy").GetString());
        Assert.Equal(fresh.GetProperty("version").GetInt64(), latest.GetProperty("version").GetInt64());
        Assert.True(latest.GetProperty("devices").GetInt32() >= 1);
    }

    [Fact]
    public async Task An_openapi_document_and_the_dashboard_are_served()
    {
        var openApi = await Json.ReadAsync(await client.GetAsync("/openapi/v1.json"));
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/v2/models/{model}/infer", out _));
        var dashboard = await client.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Equal("text/html", dashboard.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/v2/models/{model}", "get", "200")]
    [InlineData("/v2/models/{model}/ready", "get", "503")]
    [InlineData("/v2/repository/models/{model}/load", "post", "400")]
    [InlineData("/v2/models/stats", "get", "200")]
    [InlineData("/v2/admin/devices", "get", "200")]
    public async Task The_openapi_document_lists_what_each_endpoint_answers(string path, string method, string status)
    {
        var openApi = await Json.ReadAsync(await client.GetAsync("/openapi/v1.json"));

        var responses = openApi.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");
        Assert.True(responses.GetProperty(status).TryGetProperty("content", out var content), $"{method} {path} documents no body for {status}");
        Assert.True(content.TryGetProperty("application/json", out _));
    }
}
