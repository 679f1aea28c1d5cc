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
}
