namespace OrleansServe.ApiHost.Extensions;

/// <summary>
/// Calls that outlive a silo. A silo killed mid-call never answers, and its callers would wait for Orleans' response
/// timeout; the client does see the silo's gateway connection close at once. When any gateway connection closes,
/// every call this front end has in flight is sent once more beside its first attempt, and the first of the two to
/// succeed answers (the grain re-activates on a live silo once membership declares the dead one dead). A first attempt refused because its
/// silo was declared dead (an ApiHost that is a member of the cluster learns it from membership) is sent once more
/// too. A second loss during the retry answers with a clear refusal. Inference is idempotent, so a first attempt
/// that did finish elsewhere costs only its compute.
/// </summary>
public sealed class SiloLossRetry : IClusterConnectionStatusObserver
{
    private readonly ILogger<SiloLossRetry> logger;
    private CancellationTokenSource lost = new();
    private long losses;

    /// <summary>Creates the signal; it fires only once registered with the cluster client.</summary>
    public SiloLossRetry(ILogger<SiloLossRetry> logger) => this.logger = logger;

    /// <summary>Gateway connections lost since start (each one retried the calls then in flight).</summary>
    public long Losses => Interlocked.Read(ref losses);

    /// <summary>
    /// Runs <paramref name="call"/>, and once more if a gateway connection closes before it answers (the first attempt
    /// keeps running: whichever attempt succeeds first answers) or if the first is refused because its silo is gone.
    /// </summary>
    public async Task<T> CallAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        // The token before the call: a loss while it is being sent must count.
        var firstLoss = Volatile.Read(ref lost).Token;
        var first = call();
        Task<T>? stillRunning = first;
        try
        {
            return await first.WaitAsync(firstLoss).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (firstLoss.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Most calls in flight were on healthy silos: the first attempt may still answer, so it is not dropped.
        }
        catch (SiloUnavailableException e)
        {
            logger.LogDebug("A call's silo is gone ({Reason}); it is sent once more", e.Message);
            stillRunning = null;
        }
        var secondLoss = Volatile.Read(ref lost).Token;
        var retry = call();
        var attempts = new List<Task<T>> { retry };
        if (stillRunning is not null)
        {
            attempts.Add(stillRunning);
        }
        try
        {
            while (true)
            {
                var done = await Task.WhenAny(attempts).WaitAsync(secondLoss).WaitAsync(cancellationToken);
                attempts.Remove(done);
                // The first attempt is waited for only while the grain is known to be alive: a retry refused by the
                // grain itself (admission, a full queue) means the first is with that live grain; a retry the cluster
                // could not deliver means the first is most likely stuck on the dead silo until the response timeout.
                var retryUndelivered = done == retry && done.IsFaulted && done.Exception?.InnerException is not InferenceException;
                if (done.IsCompletedSuccessfully || attempts.Count == 0 || retryUndelivered)
                {
                    return await done;
                }
            }
        }
        catch (OperationCanceledException) when (secondLoss.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, "a silo of the cluster was lost twice while this request was in flight; send it again");
        }
        finally
        {
            // Attempts left behind may still fail later; their errors are nobody's to see.
            foreach (var abandoned in attempts)
            {
                _ = abandoned.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }
        }
    }

    /// <inheritdoc />
    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        if (currentNumberOfGateways < previousNumberOfGateways)
        {
            Interlocked.Increment(ref losses);
            logger.LogWarning("A gateway connection closed ({Current} of {Previous} left): calls in flight are sent once more", currentNumberOfGateways, previousNumberOfGateways);
            var previous = Interlocked.Exchange(ref lost, new CancellationTokenSource());
            // Off the client's connection thread: cancelling runs the retries' continuations.
            _ = Task.Run(previous.Cancel);
        }
    }

    /// <inheritdoc />
    public void NotifyClusterConnectionLost()
    {
    }
}
