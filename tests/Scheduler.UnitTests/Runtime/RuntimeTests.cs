namespace OrleansServe.Scheduler.UnitTests.Runtime;

public sealed class RateEstimatorTests
{
    [Fact]
    public void First_period_sets_the_rate_and_later_periods_blend_by_the_weight()
    {
        var rates = new RateEstimator(weight: 0.5);
        rates.Observe(0, 0);
        Assert.False(rates.HasRate);

        rates.Observe(200, 20);
        Assert.Equal(10, rates.RateRps, 9);

        rates.Observe(800, 40);
        Assert.Equal(0.5 * 30 + 0.5 * 10, rates.RateRps, 9);
    }

    [Fact]
    public void A_count_that_goes_down_after_a_reload_is_not_a_negative_rate()
    {
        var rates = new RateEstimator(weight: 1);
        rates.Observe(500, 0);
        rates.Observe(20, 10);
        Assert.Equal(0, rates.RateRps);
        rates.Observe(120, 20);
        Assert.Equal(10, rates.RateRps, 9);
    }
}

public sealed class AdmissionControlTests
{
    [Fact]
    public void Admits_when_the_queue_ahead_drains_within_the_slo()
    {
        // 7 ahead in batches of 4: one full batch starts first (one 30 ms cycle), then ours takes 20 ms.
        var decision = AdmissionControl.Decide(queuedAhead: 7, batchSize: 4, batchLatencyMs: 20, dutyCycleMs: 30, sloMs: 50);
        Assert.True(decision.Admitted);
        Assert.Equal(50, decision.PredictedLatencyMs, 9);
    }

    [Fact]
    public void Refuses_at_once_with_the_reason_when_the_slo_cannot_be_met()
    {
        var decision = AdmissionControl.Decide(queuedAhead: 8, batchSize: 4, batchLatencyMs: 20, dutyCycleMs: 30, sloMs: 50);
        Assert.False(decision.Admitted);
        Assert.Equal(80, decision.PredictedLatencyMs, 9);
        Assert.Contains("50 ms SLO", decision.Reason);
    }

    [Fact]
    public void A_batch_slower_than_the_slo_is_refused_even_with_an_empty_queue() =>
        Assert.False(AdmissionControl.Decide(0, 1, batchLatencyMs: 30, dutyCycleMs: 0, sloMs: 22).Admitted);

    [Fact]
    public void A_request_behind_a_running_batch_waits_for_what_is_left_of_it()
    {
        // Nothing queued, but a 30 ms batch sent 10 ms ago has 20 ms to go before ours (20 ms) can run.
        var running = AdmissionControl.RemainingMs([new RunningBatch(SinceDispatchMs: 10, LatencyMs: 30)]);
        var decision = AdmissionControl.Decide(queuedAhead: 0, batchSize: 4, batchLatencyMs: 20, dutyCycleMs: 20, sloMs: 35, runningMs: running);

        Assert.Equal(20, running, 9);
        Assert.False(decision.Admitted);
        Assert.Equal(40, decision.PredictedLatencyMs, 9);
        Assert.Contains("20 ms of batches running", decision.Reason);
    }

    [Fact]
    public void Time_spent_before_reaching_the_model_counts_against_the_slo()
    {
        // Nothing ahead would take 20 ms, but the front end already spent 35 of the 50.
        var decision = AdmissionControl.Decide(queuedAhead: 0, batchSize: 4, batchLatencyMs: 20, dutyCycleMs: 20, sloMs: 50, waitedMs: 35);

        Assert.False(decision.Admitted);
        Assert.Equal(55, decision.PredictedLatencyMs, 9);
        Assert.Contains("35 ms spent before reaching the model", decision.Reason);
        Assert.True(AdmissionControl.Decide(0, 4, batchLatencyMs: 20, dutyCycleMs: 20, sloMs: 50, waitedMs: 25).Admitted);
    }

    [Fact]
    public void Running_batches_take_turns_on_the_device()
    {
        // The second batch was sent 5 ms ago but starts only when the first (sent 12 ms ago, 30 ms long) ends.
        var remaining = AdmissionControl.RemainingMs([new RunningBatch(12, 30), new RunningBatch(5, 30)]);
        Assert.Equal(48, remaining, 9);
    }

    [Fact]
    public void A_running_batch_past_its_latency_counts_as_just_finishing()
    {
        Assert.Equal(0, AdmissionControl.RemainingMs([new RunningBatch(50, 30)]), 9);
        // The one behind it has not started yet, whatever its send time says.
        Assert.Equal(30, AdmissionControl.RemainingMs([new RunningBatch(50, 30), new RunningBatch(40, 30)]), 9);
        Assert.Equal(0, AdmissionControl.RemainingMs([]), 9);
    }
}

public sealed class ObservedProfilesTests
{
    [Fact]
    public void Observed_batches_become_measured_rows_on_a_whole_device()
    {
        var rows = ObservedProfiles.Rows("m", "cpu", [new ObservedBatch(4, 10, 8), new ObservedBatch(1, 5, 3), new ObservedBatch(2, 0, 0)]).ToList();

        Assert.Equal([(1, 3.0), (4, 8.0)], rows.Select(r => (r.Batch, r.LatencyMs)));
        Assert.All(rows, r => Assert.Equal((100, "cpu", Scheduler.Profiles.ProfileSource.Measured), (r.Partition, r.Device, r.Source)));
    }

    [Fact]
    public void A_single_observed_batch_size_is_extended_linearly_so_the_table_can_extrapolate()
    {
        var table = new Scheduler.Profiles.ProfileTable(ObservedProfiles.Rows("m", "cpu", [new ObservedBatch(2, 7, 5)]));

        Assert.Equal(10, table.LatencyMs("m", 100, 4), 9);
        Assert.Equal(20, table.LatencyMs("m", 50, 4), 9);
    }
}
