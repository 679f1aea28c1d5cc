using System.Net;
using Microsoft.AspNetCore.Hosting;

namespace OrleansServe.ApiHost.FunctionalTests;

/// <summary>Api:MaxConcurrentInferences: requests over the process's bound are refused at once and it serves again once under it.</summary>
public sealed class InferenceLimitTests(ServerFactory server) : IClassFixture<ServerFactory>
{
    private const int Limit = 2;

    private readonly HttpClient client = server
        .WithWebHostBuilder(host => host.UseSetting("Api:MaxConcurrentInferences", Limit.ToString(System.Globalization.CultureInfo.InvariantCulture)))
        .CreateClient();

    [Fact]
    public async Task Requests_over_the_limit_get_503_with_retry_after_before_their_body_is_read_and_service_recovers_when_under_it()
    {
        // slow_queue holds a request for a minute waiting for company, so the requests that get in stay in: of three,
        // two hold the limit and the third is refused. It is the first to be answered.
        var pending = Enumerable.Range(0, Limit + 1)
            .Select(_ => client.PostAsync("/v2/models/slow_queue/infer", Json.InferBody("x", [1, 3], [1, 2, 3])))
            .ToList();
        var first = await Task.WhenAny(pending);
        pending.Remove(first);
        var refused = await first;
        await AssertRefusedByTheLimitAsync(refused);

        // With the limit held, even a body that could not be parsed is refused the same way: it is never read.
        await AssertRefusedByTheLimitAsync(await client.PostAsync("/v2/models/add/infer", Json.Body("""{"inputs": [""")));
        Assert.All(pending, p => Assert.False(p.IsCompleted));

        // Unloading answers the held requests, which gives their places back.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/repository/models/slow_queue/unload", null)).StatusCode);
        foreach (var response in await Task.WhenAll(pending))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("unloaded", await Json.ErrorAsync(response));
        }
        var served = await Task.WhenAll(Enumerable.Range(0, Limit)
            .Select(_ => client.PostAsync("/v2/models/add/infer", Json.InferBody("x", [1, 3], [1, 2, 3]))));
        Assert.All(served, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.Equal(new float[] { 2.5f, 3.5f, 4.5f }, Json.OutputData(await Json.ReadAsync(served[0]), "y"));
    }

    private static async Task AssertRefusedByTheLimitAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("Api:MaxConcurrentInferences", await Json.ErrorAsync(response));
    }
}
