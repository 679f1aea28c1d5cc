using System.Net;
using System.Text;

namespace OrleansServe.ApiHost.FunctionalTests;

/// <summary>Every class of bad request gets its 4xx (or 503) with {"error": ...} and changes no state.</summary>
public sealed class ErrorTests(ServerFactory server) : IClassFixture<ServerFactory>
{
    private readonly HttpClient client = server.CreateClient();

    public static TheoryData<string, string, string, string> BadRequests => new()
    {
        { "malformed JSON", "add", """{"inputs": [""", "JSON" },
        { "not an object", "add", "[1,2,3]", "" },
        { "no inputs", "add", """{"id": "x"}""", "inputs" },
        { "wrong shape", "add", """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""", "shape" },
        { "wrong datatype", "add", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"INT32","data":[1,2,3]}]}""", "FP32" },
        { "element count", "add", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2]}]}""", "element" },
        { "unknown input", "add", """{"inputs":[{"name":"nope","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", "nope" },
        { "unknown datatype", "add", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP128","data":[1,2,3]}]}""", "FP128" },
        { "string for a number", "add", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,"two",3]}]}""", "" },
        { "negative dimension", "add", """{"inputs":[{"name":"x","shape":[-1,3],"datatype":"FP32","data":[1,2,3]}]}""", "" },
        { "batch over the limit", "add", """{"inputs":[{"name":"x","shape":[9,3],"datatype":"FP32","data":[1,2,3,1,2,3,1,2,3,1,2,3,1,2,3,1,2,3,1,2,3,1,2,3,1,2,3]}]}""", "max_batch_size" },
        { "unknown output", "add", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}],"outputs":[{"name":"zz"}]}""", "zz" },
        { "deep nesting", "add", """{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":""" + new string('[', 200) + new string(']', 200) + "}]}", "" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_is_answered_400_with_an_error_and_the_model_keeps_its_state(string why, string model, string body, string mentions)
    {
        var before = await SuccessCountAsync(model);

        var response = await client.PostAsync($"/v2/models/{model}/infer", Json.Body(body));

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{why}: got {(int)response.StatusCode}");
        var error = await Json.ErrorAsync(response);
        Assert.Contains(mentions, error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, await SuccessCountAsync(model));
        var ok = await client.PostAsync($"/v2/models/{model}/infer", Json.InferBody("x", [1, 3], [0, 0, 0]));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/v2/models/nope")]
    [InlineData("GET", "/v2/models/nope/ready")]
    [InlineData("POST", "/v2/models/nope/infer")]
    [InlineData("GET", "/v2/models/add/versions/2")]
    [InlineData("POST", "/v2/models/add/versions/2/infer")]
    [InlineData("POST", "/v2/models/add/versions/abc/infer")]
    [InlineData("POST", "/v2/models/..%2F..%2Fetc/infer")]
    [InlineData("POST", "/v2/repository/models/nope/load")]
    [InlineData("GET", "/v2/models/nope/stats")]
    [InlineData("GET", "/v2/no/such/route")]
    public async Task Unknown_models_versions_and_routes_are_404_with_an_error(string method, string path)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = method == "POST" ? Json.InferBody("x", [1, 3], [1, 2, 3]) : null,
        };
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(string.IsNullOrEmpty(await Json.ErrorAsync(response)));
    }

    [Fact]
    public async Task A_body_over_the_configured_limit_is_413()
    {
        var huge = new StringBuilder("""{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}],"pad":" """);
        huge.Append('x', (int)ServerFactory.BodyLimit);
        huge.Append("\"}");
        var response = await client.PostAsync("/v2/models/add/infer", Json.Body(huge.ToString()));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("limit", await Json.ErrorAsync(response));
    }

    [Fact]
    public async Task A_bad_inference_header_length_is_400()
    {
        var content = Json.Body("""{"inputs":[]}""");
        content.Headers.Add("Inference-Header-Content-Length", "99999");
        var response = await client.PostAsync("/v2/models/add/infer", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var notNumber = Json.Body("{}");
        notNumber.Headers.Add("Inference-Header-Content-Length", "abc");
        Assert.Equal(HttpStatusCode.BadRequest, (await client.PostAsync("/v2/models/add/infer", notNumber)).StatusCode);
    }

    [Fact]
    public async Task A_model_whose_file_is_corrupt_is_503_with_the_reason()
    {
        var response = await client.PostAsync("/v2/models/broken/infer", Json.InferBody("x", [1, 3], [1, 2, 3]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("unavailable", await Json.ErrorAsync(response));
        var ready = await client.GetAsync("/v2/models/broken/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
    }

    [Fact]
    public async Task A_full_queue_is_503_at_once_and_queued_requests_are_answered_when_the_model_unloads()
    {
        // max_queue_size 2 and a minute's max_queue_delay_ms: of five requests two wait, three are refused at once.
        var pending = Enumerable.Range(0, 5)
            .Select(_ => client.PostAsync("/v2/models/slow_queue/infer", Json.InferBody("x", [1, 3], [1, 2, 3])))
            .ToList();
        var refused = new List<HttpResponseMessage>();
        while (refused.Count < 3)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            refused.Add(await done);
        }
        foreach (var response in refused)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("max_queue_size", await Json.ErrorAsync(response));
        }

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/repository/models/slow_queue/unload", null)).StatusCode);
        foreach (var response in await Task.WhenAll(pending))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("unloaded", await Json.ErrorAsync(response));
        }
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/repository/models/slow_queue/load", null)).StatusCode);
    }

    private async Task<long> SuccessCountAsync(string model)
    {
        var stats = await Json.ReadAsync(await client.GetAsync($"/v2/models/{model}/stats"));
        return stats.GetProperty("model_stats")[0].GetProperty("inference_stats").GetProperty("success").GetProperty("count").GetInt64();
    }
}
