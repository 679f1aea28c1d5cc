using Microsoft.Extensions.Logging.Abstractions;
using OrleansServe.ApiHost.Extensions;

namespace OrleansServe.ApiHost.UnitTests.Extensions;

public sealed class SiloLossRetryTests
{
    private readonly SiloLossRetry retry = new(NullLogger<SiloLossRetry>.Instance);

    [Fact]
    public async Task A_call_answered_before_any_loss_is_sent_once()
    {
        var calls = 0;
        var answer = await retry.CallAsync(() => Task.FromResult(++calls), CancellationToken.None);
        Assert.Equal(1, answer);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_call_in_flight_when_a_gateway_closes_is_sent_once_more_and_the_retry_answers()
    {
        var attempts = new Attempts();
        var call = retry.CallAsync(attempts.Next, CancellationToken.None);
        Assert.Equal(1, attempts.Count);

        retry.NotifyGatewayCountChanged(2, 3, connectionRecovered: false);
        (await attempts.Made(2)).SetResult("from the retry");
        Assert.Equal("from the retry", await call);
        // The abandoned first attempt failing later changes nothing.
        (await attempts.Made(1)).SetException(new TimeoutException("response timeout"));
        Assert.Equal(1, retry.Losses);
    }

    [Fact]
    public async Task A_second_loss_during_the_retry_is_answered_with_a_refusal_not_a_third_attempt()
    {
        var attempts = new Attempts();
        var call = retry.CallAsync(attempts.Next, CancellationToken.None);
        retry.NotifyGatewayCountChanged(2, 3, connectionRecovered: false);
        await attempts.Made(2);
        retry.NotifyGatewayCountChanged(1, 2, connectionRecovered: false);

        var refusal = await Assert.ThrowsAsync<InferenceException>(() => call);
        Assert.Equal(InferenceErrorKind.Unavailable, refusal.Kind);
        Assert.Equal(2, attempts.Count);
    }

    [Fact]
    public async Task After_a_gateway_closes_the_first_attempt_still_answers_when_it_succeeds_first()
    {
        var attempts = new Attempts();
        var call = retry.CallAsync(attempts.Next, CancellationToken.None);
        retry.NotifyGatewayCountChanged(2, 3, connectionRecovered: false);
        var second = await attempts.Made(2);
        second.SetException(new InferenceException(InferenceErrorKind.Overloaded, "the retry was refused by admission"));
        (await attempts.Made(1)).SetResult("from the first attempt");
        Assert.Equal("from the first attempt", await call);
    }

    [Fact]
    public async Task A_retry_the_cluster_cannot_deliver_answers_at_once_without_waiting_for_the_first_attempt()
    {
        var attempts = new Attempts();
        var call = retry.CallAsync(attempts.Next, CancellationToken.None);
        retry.NotifyGatewayCountChanged(2, 3, connectionRecovered: false);
        (await attempts.Made(2)).SetException(new TimeoutException("unable to reach the silo"));
        // The first attempt never answers (it waits on the dead silo); the call is answered anyway.
        await Assert.ThrowsAsync<TimeoutException>(() => call);
    }

    [Fact]
    public async Task When_both_attempts_fail_the_caller_sees_the_later_failure()
    {
        var attempts = new Attempts();
        var call = retry.CallAsync(attempts.Next, CancellationToken.None);
        retry.NotifyGatewayCountChanged(2, 3, connectionRecovered: false);
        (await attempts.Made(2)).SetException(new InferenceException(InferenceErrorKind.Overloaded, "refused"));
        (await attempts.Made(1)).SetException(new TimeoutException("no answer"));
        await Assert.ThrowsAsync<TimeoutException>(() => call);
    }

    [Fact]
    public async Task A_call_refused_because_its_silo_was_declared_dead_is_sent_once_more()
    {
        var attempts = new Attempts();
        var call = retry.CallAsync(attempts.Next, CancellationToken.None);
        (await attempts.Made(1)).SetException(new SiloUnavailableException("the target silo became unavailable"));
        (await attempts.Made(2)).SetResult("from the retry");
        Assert.Equal("from the retry", await call);
    }

    [Fact]
    public async Task A_call_refused_by_the_model_is_not_sent_again()
    {
        var attempts = new Attempts();
        var call = retry.CallAsync(attempts.Next, CancellationToken.None);
        (await attempts.Made(1)).SetException(new InferenceException(InferenceErrorKind.BadRequest, "wrong shape"));
        await Assert.ThrowsAsync<InferenceException>(() => call);
        Assert.Equal(1, attempts.Count);
    }

    [Fact]
    public async Task A_gateway_that_connects_retries_nothing()
    {
        var attempts = new Attempts();
        var call = retry.CallAsync(attempts.Next, CancellationToken.None);
        retry.NotifyGatewayCountChanged(3, 2, connectionRecovered: true);
        (await attempts.Made(1)).SetResult("first");
        Assert.Equal("first", await call);
        Assert.Equal(1, attempts.Count);
    }

    [Fact]
    public async Task A_caller_that_goes_away_is_not_retried()
    {
        var attempts = new Attempts();
        using var caller = new CancellationTokenSource();
        var call = retry.CallAsync(attempts.Next, caller.Token);
        await caller.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, attempts.Count);
    }

    /// <summary>The attempts of one call, each answered by the test; waiting for the n-th is a signal, not a delay.</summary>
    private sealed class Attempts
    {
        private readonly Lock gate = new();
        private readonly List<TaskCompletionSource<string>> made = [];
        private readonly List<(int Count, TaskCompletionSource<TaskCompletionSource<string>> Signal)> waiters = [];

        public int Count
        {
            get
            {
                lock (gate)
                {
                    return made.Count;
                }
            }
        }

        public Task<string> Next()
        {
            var attempt = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (gate)
            {
                made.Add(attempt);
                foreach (var waiter in waiters.Where(w => w.Count == made.Count).ToList())
                {
                    waiter.Signal.SetResult(attempt);
                    waiters.Remove(waiter);
                }
            }
            return attempt.Task;
        }

        /// <summary>The n-th attempt (from 1), once it has been made.</summary>
        public Task<TaskCompletionSource<string>> Made(int count)
        {
            lock (gate)
            {
                if (made.Count >= count)
                {
                    return Task.FromResult(made[count - 1]);
                }
                var signal = new TaskCompletionSource<TaskCompletionSource<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
                waiters.Add((count, signal));
                return signal.Task;
            }
        }
    }
}
