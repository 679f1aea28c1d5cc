using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansServe.Zoo;

namespace OrleansServe.Cluster.FunctionalTests;

/// <summary>A cluster whose membership and grain state live in a real Redis, run as real silo and ApiHost processes.</summary>
public sealed class ClusterRestartTests(RedisServer redis) : IClassFixture<RedisServer>, IDisposable
{
    private const string Interference = """{"mem_self": 0.4, "mem_other": 0.9, "comp_self": 0.2, "comp_other": 0.5, "constant": 1.0, "device": "h100-sxm"}""";

    private const string Profiles = "model,partition,batch,latency_ms\nadder,100,1,2.5\nadder,100,4,6\nadder,50,1,4.25\n";

    private readonly string repository = Directory.CreateTempSubdirectory("orleansserve-cluster-").FullName;

    public void Dispose() => Directory.Delete(repository, recursive: true);

    [Fact]
    public async Task Restarting_the_whole_cluster_keeps_loaded_models_their_configs_profiles_interference_and_the_plan()
    {
        AddModel("adder", TestModels.AddConstant(10f), """{"max_batch_size": 4, "slo_ms": 50}""");
        AddModel("spare", TestModels.AddConstant(1f), """{"max_batch_size": 4}""");
        var nodes = new ClusterNodes(redis.ConnectionString, repository);
        var (siloPort, gatewayPort) = (RedisServer.FreePort(), RedisServer.FreePort());

        string schedule;
        await using (var silo = await nodes.StartSiloAsync("silo", siloPort, gatewayPort))
        {
            var (api, http) = await nodes.StartApiHostAsync("api");
            await using (api)
            using (http)
            {
                // Loaded with a config.json of its own, kept as cluster state.
                var load = new JsonObject { ["parameters"] = new JsonObject { ["config"] = """{"max_batch_size": 2, "slo_ms": 40}""" } };
                Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v2/repository/models/adder/load", new StringContent(load.ToJsonString()))).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await http.PutAsync("/v2/admin/profiles", new StringContent(Profiles, Encoding.UTF8, "text/csv"))).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await http.PutAsync("/v2/admin/interference", new StringContent(Interference, Encoding.UTF8, "application/json"))).StatusCode);
                // A rate needs two observations with requests between them; the second re-plan plans the model.
                await ReplanAsync(http);
                Assert.Equal(new float[] { 11, 12, 13 }, await InferAsync(http, [1, 2, 3]));
                schedule = await ReplanAsync(http);
                Assert.NotNull(JsonNode.Parse(schedule)!["plan"]);
            }
            // Every process of the cluster stops at once, as in a power cut; Redis stays.
        }

        // The same ports: the restarted silo supersedes its dead predecessor in the membership table at once.
        await using var restartedSilo = await nodes.StartSiloAsync("restarted silo", siloPort, gatewayPort);
        var (restartedApi, restarted) = await nodes.StartApiHostAsync("restarted api");
        await using (restartedApi)
        using (restarted)
        {
            var states = await IndexAsync(restarted);
            Assert.Equal("READY", states["adder"]);
            Assert.Equal("UNLOADED", states["spare"]);
            Assert.Equal(new float[] { 10, 10, 10 }, await InferAsync(restarted, [0, 0, 0]));
            var config = (await restarted.GetFromJsonAsync<JsonElement>("/v2/models/adder")).GetProperty("config");
            Assert.Equal(2, config.GetProperty("max_batch_size").GetInt32());
            Assert.Equal(40, config.GetProperty("slo_ms").GetDouble());

            var interference = await restarted.GetFromJsonAsync<JsonElement>("/v2/admin/interference");
            Assert.Equal(0.9, interference.GetProperty("mem_other").GetDouble());
            Assert.Equal("h100-sxm", interference.GetProperty("device").GetString());

            var profiles = await restarted.GetStringAsync("/v2/admin/profiles");
            Assert.Contains("adder,100,4,6", profiles, StringComparison.Ordinal);
            Assert.Contains("adder,50,1,4.25", profiles, StringComparison.Ordinal);

            Assert.Equal(schedule, await restarted.GetStringAsync("/v2/admin/schedule"));
        }
    }

    /// <summary>
    /// An ApiHost in embedded mode is a member of the cluster (a silo with devices), the deployment where a request's
    /// tensors go straight from the front end's silo to the model's silo.
    /// </summary>
    [Fact]
    public async Task A_headless_silo_and_an_ApiHost_member_join_one_cluster_through_redis_and_serve()
    {
        AddModel("adder", TestModels.AddConstant(10f), """{"max_batch_size": 4}""");
        var nodes = new ClusterNodes(redis.ConnectionString, repository);

        await using var silo = await nodes.StartSiloAsync("silo", RedisServer.FreePort(), RedisServer.FreePort());
        var (api, http) = await nodes.StartMemberApiHostAsync("member api", RedisServer.FreePort(), RedisServer.FreePort());
        await using (api)
        using (http)
        {
            var devices = await http.GetFromJsonAsync<JsonElement>("/v2/admin/devices");
            var descriptions = devices.EnumerateArray().Select(d => d.GetProperty("description")).ToList();
            Assert.Equal(2, descriptions.Count);
            Assert.All(descriptions, d => Assert.EndsWith("/cpu0", d.GetProperty("key").GetString(), StringComparison.Ordinal));
            Assert.Equal(2, descriptions.Select(d => d.GetProperty("silo").GetString()).Distinct().Count());

            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v2/repository/models/adder/load", null)).StatusCode);
            Assert.Equal(new float[] { 11, 12, 13 }, await InferAsync(http, [1, 2, 3]));
        }
    }

    private void AddModel(string name, byte[] onnx, string config)
    {
        Directory.CreateDirectory(Path.Combine(repository, name, "1"));
        File.WriteAllBytes(Path.Combine(repository, name, "1", "model.onnx"), onnx);
        File.WriteAllText(Path.Combine(repository, name, "config.json"), config);
    }

    private static async Task<string> ReplanAsync(HttpClient http)
    {
        var response = await http.PostAsync("/v2/admin/schedule/replan", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<Dictionary<string, string?>> IndexAsync(HttpClient http)
    {
        var index = await (await http.PostAsync("/v2/repository/index", null)).Content.ReadFromJsonAsync<JsonElement>();
        return index.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("state").GetString());
    }

    private static async Task<float[]> InferAsync(HttpClient http, float[] data)
    {
        var body = new JsonObject
        {
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = "x",
                ["shape"] = new JsonArray(1, data.Length),
                ["datatype"] = "FP32",
                ["data"] = new JsonArray([.. data.Select(v => JsonValue.Create(v))]),
            }),
        };
        var response = await http.PostAsync("/v2/models/adder/infer", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var output = JsonNode.Parse(text)!["outputs"]![0]!["data"]!.AsArray();
        return [.. output.Select(v => v!.GetValue<float>())];
    }
}
