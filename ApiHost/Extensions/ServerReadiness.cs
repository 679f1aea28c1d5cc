namespace OrleansServe.ApiHost.Extensions;

/// <summary>
/// The front end is ready once the host has started (the embedded silo has loaded the repository, or the client
/// has connected) and stops being ready as soon as shutdown begins.
/// </summary>
public sealed class ServerReadiness(IHostApplicationLifetime lifetime, ILogger<ServerReadiness> logger) : IHostedService
{
    private volatile bool ready;

    /// <summary>Whether requests should be sent here.</summary>
    public bool IsReady => ready;

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            ready = true;
            logger.LogInformation("OrleansServe ready");
        });
        lifetime.ApplicationStopping.Register(() => ready = false);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
