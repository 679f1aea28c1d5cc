using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using OrleansServe.ApiHost.Apis;
using OrleansServe.ApiHost.Extensions;

namespace OrleansServe.ApiHost.UnitTests.Apis;

public sealed class ReadinessTests
{
    /// <summary>An application lifetime whose events the test fires.</summary>
    private sealed class Lifetime : IHostApplicationLifetime
    {
        public readonly CancellationTokenSource Started = new();
        public readonly CancellationTokenSource Stopping = new();
        public CancellationToken ApplicationStarted => Started.Token;
        public CancellationToken ApplicationStopping => Stopping.Token;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() => Stopping.Cancel();
    }

    private static int? StatusOf(IResult result) => ((result as INestedHttpResult)?.Result as IStatusCodeHttpResult ?? result as IStatusCodeHttpResult)?.StatusCode;

    [Fact]
    public async Task The_server_is_not_ready_until_the_host_has_started_and_stops_being_ready_at_shutdown()
    {
        var lifetime = new Lifetime();
        var readiness = new ServerReadiness(lifetime, NullLogger<ServerReadiness>.Instance);
        await readiness.StartAsync(CancellationToken.None);

        var before = HealthApi.Ready(readiness);
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, StatusOf(before));
        Assert.Contains("not ready", Assert.IsType<JsonHttpResult<ErrorBody>>(before.Result).Value!.Error);

        lifetime.Started.Cancel();
        Assert.Equal(StatusCodes.Status200OK, StatusOf(HealthApi.Ready(readiness)));

        lifetime.StopApplication();
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, StatusOf(HealthApi.Ready(readiness)));
    }
}
