using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace OrleansServe.ApiHost.FunctionalTests;

/// <summary>Request building and response reading for the KServe v2 JSON protocol.</summary>
public static class Json
{
    public static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent InferBody(string input, long[] shape, float[] data, string datatype = "FP32") =>
        Body(new JsonObject
        {
            ["id"] = "t1",
            ["inputs"] = new JsonArray(new JsonObject
            {
                ["name"] = input,
                ["shape"] = new JsonArray([.. shape.Select(d => JsonValue.Create(d))]),
                ["datatype"] = datatype,
                ["data"] = new JsonArray([.. data.Select(v => JsonValue.Create(v))]),
            }),
        }.ToJsonString());

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>());

    public static async Task<string> ErrorAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await ReadAsync(response);
        return body.GetProperty("error").GetString()!;
    }

    public static float[] OutputData(JsonElement response, string name) =>
        [.. response.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == name)
            .GetProperty("data").EnumerateArray().Select(v => v.GetSingle())];
}
