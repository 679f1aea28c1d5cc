using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OrleansServe.ApiHost.Extensions;

namespace OrleansServe.ApiHost.FunctionalTests;

/// <summary>A small server (one model) with the settings of <see cref="Settings"/> on top of the test defaults.</summary>
public abstract class ConfiguredServerFactory : WebApplicationFactory<Program>
{
    public string Repository { get; } = Directory.CreateTempSubdirectory("orleansserve-access-").FullName;

    protected ConfiguredServerFactory() => ServerFactory.AddModel(Repository, "add", TestModels.AddConstant(1.5f), """{"max_batch_size": 8}""");

    protected abstract IReadOnlyDictionary<string, string> Settings { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("OrleansServe:ModelRepository", Repository);
        builder.UseSetting("OrleansServe:Scheduler:Admission", "false");
        builder.UseSetting("Cluster:SiloPort", ServerFactory.FreePort().ToString(CultureInfo.InvariantCulture));
        builder.UseSetting("Cluster:GatewayPort", ServerFactory.FreePort().ToString(CultureInfo.InvariantCulture));
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(Repository))
        {
            Directory.Delete(Repository, recursive: true);
        }
    }
}

/// <summary>A key is set; inference and the dashboard keep their defaults (inference open, dashboard keyed).</summary>
public sealed class KeyedServerFactory : ConfiguredServerFactory
{
    public const string Key = "s3cret-key-for-tests";

    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string> { ["Api:ApiKey"] = Key };
}

/// <summary>A key is set, inference is keyed too and the dashboard is left open.</summary>
public sealed class KeyedInferenceServerFactory : ConfiguredServerFactory
{
    protected override IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>
    {
        ["Api:ApiKey"] = KeyedServerFactory.Key,
        ["Api:ProtectInference"] = "true",
        ["Api:ProtectDashboard"] = "false",
    };
}

/// <summary>The request that each endpoint class is tried with.</summary>
public static class Endpoints
{
    public static readonly (string Method, string Path)[] Management =
    [
        ("POST", "/v2/repository/index"),
        ("POST", "/v2/repository/models/add/load"),
        ("GET", "/v2/admin/plan"),
        ("GET", "/v2/admin/devices"),
        ("GET", "/v2/admin/schedule"),
        ("GET", "/v2/admin/profiles"),
        ("GET", "/V2/ADMIN/PLAN"),
    ];

    public static readonly (string Method, string Path)[] Inference =
    [
        ("POST", "/v2/models/add/infer"),
        ("POST", "/v2/models/add/versions/1/infer"),
        ("GET", "/v2/models/add"),
        ("GET", "/v2/models/add/ready"),
        ("GET", "/v2/models/add/stats"),
        ("GET", "/v2"),
    ];

    public static HttpRequestMessage Request(string method, string path, string? bearer = null, string? apiKey = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = path.EndsWith("/infer", StringComparison.Ordinal) ? Json.InferBody("x", [1, 3], [1, 2, 3]) : null,
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        if (apiKey is not null)
        {
            request.Headers.Add("X-Api-Key", apiKey);
        }
        return request;
    }
}

public sealed class OpenServerAccessTests(ServerFactory server) : IClassFixture<ServerFactory>
{
    private readonly HttpClient client = server.CreateClient();

    [Fact]
    public async Task Without_a_key_configured_every_endpoint_and_the_dashboard_answer_without_credentials()
    {
        foreach (var (method, path) in Endpoints.Management.Concat(Endpoints.Inference).Append(("GET", "/dashboard")))
        {
            var response = await client.SendAsync(Endpoints.Request(method, path));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public void Every_api_endpoint_declares_its_access_class_and_only_repository_and_admin_are_management()
    {
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } raw && (raw.StartsWith("/v2", StringComparison.Ordinal) || raw.StartsWith("/openapi", StringComparison.Ordinal)))
            .ToList();

        Assert.NotEmpty(endpoints);
        foreach (var endpoint in endpoints)
        {
            var raw = endpoint.RoutePattern.RawText!;
            var access = endpoint.Metadata.GetMetadata<ApiAccessMetadata>()?.Access;
            var expected = raw.StartsWith("/v2/repository", StringComparison.Ordinal) || raw.StartsWith("/v2/admin", StringComparison.Ordinal) ? ApiAccess.Management
                : raw.StartsWith("/v2/health", StringComparison.Ordinal) ? ApiAccess.Open
                : ApiAccess.Inference;
            Assert.True(access == expected, $"{raw}: {access?.ToString() ?? "undeclared"}, expected {expected}");
        }
    }
}

public sealed class KeyedServerAccessTests(KeyedServerFactory server) : IClassFixture<KeyedServerFactory>
{
    private readonly HttpClient client = server.CreateClient();

    [Fact]
    public async Task Management_endpoints_refuse_a_missing_or_wrong_key_with_401_and_do_not_reveal_the_key()
    {
        foreach (var (method, path) in Endpoints.Management)
        {
            foreach (var request in new[]
            {
                Endpoints.Request(method, path),
                Endpoints.Request(method, path, bearer: "wrong"),
                Endpoints.Request(method, path, apiKey: KeyedServerFactory.Key + "x"),
                Endpoints.Request(method, path, apiKey: ""),
                Endpoints.Request(method, path, bearer: KeyedServerFactory.Key[..^1]),
            })
            {
                var response = await client.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {(int)response.StatusCode}");
                var error = await Json.ErrorAsync(response);
                Assert.Contains("API key", error);
                Assert.DoesNotContain(KeyedServerFactory.Key, error);
            }
        }
    }

    [Fact]
    public async Task Management_endpoints_answer_with_the_key_in_either_header()
    {
        foreach (var (method, path) in Endpoints.Management)
        {
            var bearer = await client.SendAsync(Endpoints.Request(method, path, bearer: KeyedServerFactory.Key));
            Assert.True(bearer.StatusCode == HttpStatusCode.OK, $"{method} {path} with Bearer: {(int)bearer.StatusCode}");
            var header = await client.SendAsync(Endpoints.Request(method, path, apiKey: KeyedServerFactory.Key));
            Assert.True(header.StatusCode == HttpStatusCode.OK, $"{method} {path} with X-Api-Key: {(int)header.StatusCode}");
        }
    }

    [Theory]
    [InlineData("Authorization", "bearer " + KeyedServerFactory.Key, HttpStatusCode.OK)]
    [InlineData("Authorization", "Bearer   " + KeyedServerFactory.Key + " ", HttpStatusCode.OK)]
    [InlineData("Authorization", "Basic " + KeyedServerFactory.Key, HttpStatusCode.Unauthorized)]
    [InlineData("Authorization", KeyedServerFactory.Key, HttpStatusCode.Unauthorized)]
    [InlineData("Authorization", "Bearer", HttpStatusCode.Unauthorized)]
    [InlineData("X-Api-Key", "Bearer " + KeyedServerFactory.Key, HttpStatusCode.Unauthorized)]
    [InlineData("X-Api-Key", "S3CRET-KEY-FOR-TESTS", HttpStatusCode.Unauthorized)]
    public async Task Only_the_exact_key_in_a_bearer_token_or_the_api_key_header_is_accepted(string header, string value, HttpStatusCode expected)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v2/admin/plan");
        request.Headers.TryAddWithoutValidation(header, value);

        var response = await client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task Two_api_key_headers_are_refused_even_when_one_is_right()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v2/admin/plan");
        request.Headers.Add("X-Api-Key", ["wrong", KeyedServerFactory.Key]);

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Inference_metadata_and_health_stay_open_by_default()
    {
        foreach (var (method, path) in Endpoints.Inference.Append(("GET", "/v2/health/live")).Append(("GET", "/v2/health/ready")))
        {
            var response = await client.SendAsync(Endpoints.Request(method, path));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode}");
        }
        var infer = await client.SendAsync(Endpoints.Request("POST", "/v2/models/add/infer"));
        Assert.Equal(new float[] { 2.5f, 3.5f, 4.5f }, Json.OutputData(await Json.ReadAsync(infer), "y"));
    }

    [Fact]
    public async Task The_dashboard_is_keyed_by_default_once_a_key_is_set()
    {
        var refused = await client.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.False(string.IsNullOrEmpty(await Json.ErrorAsync(refused)));
        // X-Api-Key, since HttpClient drops Authorization when it follows the dashboard's redirect to "/dashboard/".
        var served = await client.SendAsync(Endpoints.Request("GET", "/dashboard", apiKey: KeyedServerFactory.Key));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task A_refused_management_request_changes_nothing()
    {
        var unload = await client.SendAsync(Endpoints.Request("POST", "/v2/repository/models/add/unload", bearer: "wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, unload.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/add/ready")).StatusCode);
    }
}

public sealed class KeyedInferenceAccessTests(KeyedInferenceServerFactory server) : IClassFixture<KeyedInferenceServerFactory>
{
    private readonly HttpClient client = server.CreateClient();

    [Fact]
    public async Task Inference_and_metadata_refuse_without_the_key_and_answer_with_it_when_protected()
    {
        foreach (var (method, path) in Endpoints.Inference)
        {
            var refused = await client.SendAsync(Endpoints.Request(method, path));
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} without a key: {(int)refused.StatusCode}");
            Assert.False(string.IsNullOrEmpty(await Json.ErrorAsync(refused)));
            var served = await client.SendAsync(Endpoints.Request(method, path, apiKey: KeyedServerFactory.Key));
            Assert.True(served.StatusCode == HttpStatusCode.OK, $"{method} {path} with the key: {(int)served.StatusCode}");
        }
    }

    [Fact]
    public async Task Health_and_an_unprotected_dashboard_stay_open_while_management_is_keyed()
    {
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/dashboard")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v2/admin/plan")).StatusCode);
    }
}
