using System.Net;
using System.Text;

namespace OrleansServe.ApiHost.FunctionalTests;

public sealed class ProfileApiTests(ServerFactory server) : IClassFixture<ServerFactory>
{
    private readonly HttpClient client = server.CreateClient();

    private static StringContent Csv(string text) => new(text, Encoding.UTF8, "text/csv");

    [Fact]
    public async Task A_profile_table_put_over_http_comes_back_from_the_export()
    {
        var put = await client.PutAsync("/v2/admin/profiles", Csv("model,partition,batch,latency_ms\nlenet5,50,1,0.7\nlenet5,100,1,0.4\n"));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(2, (await Json.ReadAsync(put)).GetProperty("rows").GetInt32());
        var exported = await client.GetAsync("/v2/admin/profiles");
        Assert.Equal("text/csv", exported.Content.Headers.ContentType?.MediaType);
        var csv = await exported.Content.ReadAsStringAsync();
        Assert.StartsWith("model,partition,batch,latency_ms,device,source", csv);
        Assert.Contains("lenet5,50,1,0.7,device,imported", csv);
    }

    [Theory]
    [InlineData("")]
    [InlineData("model,partition,batch\nlenet5,50,1\n")]
    [InlineData("model,partition,batch,latency_ms\nlenet5,50,1,-3\n")]
    [InlineData("model,partition,batch,latency_ms\nlenet5,50,1,2\nlenet5,50,1,3\n")]
    public async Task A_bad_profile_table_is_a_400_with_the_reason(string body)
    {
        var response = await client.PutAsync("/v2/admin/profiles", Csv(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("profile table was not imported", await Json.ErrorAsync(response));
    }

    [Fact]
    public async Task Interference_coefficients_are_imported_read_back_and_bad_ones_refused()
    {
        var body = """{"mem_self": 0.4, "mem_other": 0.9, "comp_self": 0.2, "comp_other": 0.5, "constant": 1.0, "device": "h200"}""";
        var put = await client.PutAsync("/v2/admin/interference", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var read = await Json.ReadAsync(await client.GetAsync("/v2/admin/interference"));
        Assert.Equal(0.9, read.GetProperty("mem_other").GetDouble());
        Assert.Equal("h200", read.GetProperty("device").GetString());

        foreach (var (bad, reason) in new[]
        {
            ("""{"mem_self": 0.4}""", "lacks a coefficient"),
            ("""{"mem_self": 0.4, "mem_other": 0.9, "comp_self": 0.2, "comp_other": 0.5, "constant": 1.0, "device": "tpu"}""", "not one of"),
            ("""{"mem_self": "high", "mem_other": 0.9, "comp_self": 0.2, "comp_other": 0.5, "constant": 1.0}""", "not interference coefficients"),
            ("[1, 2", "not interference coefficients"),
        })
        {
            var refused = await client.PutAsync("/v2/admin/interference", new StringContent(bad, System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains(reason, (await Json.ReadAsync(refused)).GetProperty("error").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal("h200", (await Json.ReadAsync(await client.GetAsync("/v2/admin/interference"))).GetProperty("device").GetString());
    }
}
