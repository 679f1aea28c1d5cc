using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using OrleansServe.Engine.OnnxRuntime;

namespace OrleansServe.ApiHost.FunctionalTests;

public sealed class DeviceAdminApiTests(ServerFactory server) : IClassFixture<ServerFactory>
{
    private readonly HttpClient client = server.CreateClient();

    [Fact]
    public async Task Devices_list_each_gpulet_with_its_share_memory_and_residency()
    {
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/models/lenet5/infer", Json.InferBody("input", [1, 1, 28, 28], new float[28 * 28]))).StatusCode);

        var device = (await Json.ReadAsync(await client.GetAsync("/v2/admin/devices")))[0];
        var one = await Json.ReadAsync(await client.GetAsync("/v2/admin/devices/cpu0"));

        var budget = device.GetProperty("description").GetProperty("memory_budget_bytes").GetInt64();
        Assert.Equal(budget - device.GetProperty("used_bytes").GetInt64(), device.GetProperty("free_bytes").GetInt64());
        var gpulet = Assert.Single(device.GetProperty("gpulets").EnumerateArray());
        Assert.Equal(100, gpulet.GetProperty("sm_percent").GetInt32());
        Assert.Equal(budget, gpulet.GetProperty("memory_budget_bytes").GetInt64());
        Assert.Equal(gpulet.GetProperty("memory_budget_bytes").GetInt64() - gpulet.GetProperty("used_bytes").GetInt64(), gpulet.GetProperty("free_bytes").GetInt64());
        Assert.Contains(gpulet.GetProperty("resident").EnumerateArray(), r => r.GetProperty("model").GetString() == "lenet5");
        Assert.True(gpulet.GetProperty("swap_ins").GetInt64() >= 1);
        Assert.Equal(device.GetProperty("description").GetProperty("key").GetString(), one.GetProperty("description").GetProperty("key").GetString());
    }

    [Fact]
    public async Task Partitions_change_over_http_while_requests_are_in_flight_and_every_request_is_answered()
    {
        var requests = new List<Task<HttpResponseMessage>>();
        foreach (var split in new[] { "[50,50]", "[40,60]", "[100]" })
        {
            for (var i = 0; i < 12; i++)
            {
                requests.Add(client.PostAsync("/v2/models/lenet5/infer", Json.InferBody("input", [1, 1, 28, 28], new float[28 * 28])));
                requests.Add(client.PostAsync("/v2/models/tabular_mlp/infer", Json.InferBody("features", [1, 4], [1, 2, 3, 4])));
            }
            var shares = JsonSerializer.Deserialize<int[]>(split)!;
            var body = "{\"partitions\":[" + string.Join(",", shares.Select(s => $"{{\"sm_percent\":{s}}}")) + "]}";

            var response = await client.PostAsync("/v2/admin/devices/cpu0/partitions", Json.Body(body));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var status = await Json.ReadAsync(response);
            Assert.Equal(shares, status.GetProperty("gpulets").EnumerateArray().Select(g => g.GetProperty("sm_percent").GetInt32()));
            var listed = (await Json.ReadAsync(await client.GetAsync("/v2/admin/devices")))[0];
            Assert.Equal(shares, listed.GetProperty("gpulets").EnumerateArray().Select(g => g.GetProperty("sm_percent").GetInt32()));
        }

        var answers = await Task.WhenAll(requests);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.Equal(36, (await Task.WhenAll(answers.Select(Json.ReadAsync))).Count(r => r.GetProperty("model_name").GetString() == "lenet5"));
    }

    [Fact]
    public async Task A_device_can_be_named_by_its_full_key_and_models_bound_to_a_gpulet()
    {
        var key = (await Json.ReadAsync(await client.GetAsync("/v2/admin/devices")))[0].GetProperty("description").GetProperty("key").GetString()!;
        var body = """{"partitions":[{"sm_percent":50,"models":["tabular_mlp"],"memory_bytes":0},{"sm_percent":50,"models":[]}]}""";

        var response = await client.PostAsync($"/v2/admin/devices/{Uri.EscapeDataString(key)}/partitions", Json.Body(body));
        await client.PostAsync("/v2/models/tabular_mlp/infer", Json.InferBody("features", [1, 4], [1, 2, 3, 4]));
        var status = await Json.ReadAsync(await client.GetAsync("/v2/admin/devices/cpu0"));
        await client.PostAsync("/v2/admin/devices/cpu0/partitions", Json.Body("""{"partitions":[{"sm_percent":100}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var first = status.GetProperty("gpulets")[0];
        Assert.Equal(["tabular_mlp"], first.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.Contains(first.GetProperty("resident").EnumerateArray(), r => r.GetProperty("model").GetString() == "tabular_mlp");
    }

    [Theory]
    [InlineData("""{"partitions":[{"sm_percent":60},{"sm_percent":50}]}""", "110%")]
    [InlineData("""{"partitions":[{"sm_percent":0}]}""", "1..100")]
    [InlineData("""{"partitions":[{"sm_percent":50,"memory_bytes":-1}]}""", "negative")]
    [InlineData("""{"partitions":[]}""", "no gpulets")]
    [InlineData("""{"partitions":null}""", "no gpulets")]
    [InlineData("""{}""", "no gpulets")]
    [InlineData("""{"partitions":[null]}""", "no gpulets")]
    [InlineData("""{"partitions":[{"sm_percent":"half"}]}""", "not a partitions request")]
    [InlineData("""{"partitions":""", "not a partitions request")]
    [InlineData("", "not a partitions request")]
    [InlineData("[50,50]", "not a partitions request")]
    public async Task A_bad_split_or_body_is_a_400_with_the_reason_and_changes_nothing(string body, string reason)
    {
        var response = await client.PostAsync("/v2/admin/devices/cpu0/partitions", Json.Body(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await Json.ErrorAsync(response));
        var device = (await Json.ReadAsync(await client.GetAsync("/v2/admin/devices")))[0];
        Assert.Equal([100], device.GetProperty("gpulets").EnumerateArray().Select(g => g.GetProperty("sm_percent").GetInt32()));
    }

    [Fact]
    public async Task An_unknown_device_is_a_404()
    {
        var posted = await client.PostAsync("/v2/admin/devices/gpu7/partitions", Json.Body("""{"partitions":[{"sm_percent":100}]}"""));
        var read = await client.GetAsync("/v2/admin/devices/gpu7");

        Assert.Equal(HttpStatusCode.NotFound, posted.StatusCode);
        Assert.Contains("gpu7", await Json.ErrorAsync(posted));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public void Invalid_cpu_partitions_stop_the_server_at_start_naming_the_setting()
    {
        // appsettings.json starts the CPU device whole ([100]); a second gpulet of 50% oversubscribes it.
        using var factory = server.WithWebHostBuilder(builder => builder
            .UseSetting("OrleansServe:CpuDevice:Partitions:1", "50")
            .UseSetting("Cluster:SiloPort", ServerFactory.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseSetting("Cluster:GatewayPort", ServerFactory.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());

        Assert.Contains("OrleansServe:CpuDevice:Partitions [100, 50] sum to 150%", error.ToString());
    }
}
