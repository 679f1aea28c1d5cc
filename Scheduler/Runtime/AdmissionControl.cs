namespace OrleansServe.Scheduler.Runtime;

/// <summary>What admission control decided for one request.</summary>
/// <param name="Reason">Why the request is refused (null when admitted), for the 503 body.</param>
public readonly record struct AdmissionDecision(bool Admitted, double PredictedLatencyMs, string? Reason);

/// <summary>A batch of the model already sent to its device.</summary>
/// <param name="SinceDispatchMs">How long ago it was sent.</param>
/// <param name="LatencyMs">How long a batch of its size takes on the device.</param>
public readonly record struct RunningBatch(double SinceDispatchMs, double LatencyMs);

/// <summary>
/// Clockwork's rule: a request that cannot finish within its SLO under the current plan is refused at once
/// rather than answered late. The prediction starts from the time the request already spent before reaching the
/// model, and assumes the batches already on the device finish first, that the queue
/// ahead then drains in full batches of the planned size, one batch per duty cycle, and that the request's own batch
/// takes the planned batch latency.
/// </summary>
public static class AdmissionControl
{
    /// <param name="queuedAhead">Requests of the model already waiting.</param>
    /// <param name="batchSize">Planned batch size (≥ 1).</param>
    /// <param name="batchLatencyMs">Predicted latency of one batch on the model's gpulet or device.</param>
    /// <param name="dutyCycleMs">Time between the model's batch starts (≥ the batch latency; the latency when the device is its own).</param>
    /// <param name="sloMs">The model's latency objective.</param>
    /// <param name="runningMs">Time until the model's batches already on the device are done (see <see cref="RemainingMs"/>).</param>
    /// <param name="waitedMs">Time the request spent before it reached the model (in a front end).</param>
    public static AdmissionDecision Decide(
        int queuedAhead, int batchSize, double batchLatencyMs, double dutyCycleMs, double sloMs, double runningMs = 0, double waitedMs = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(queuedAhead);
        ArgumentOutOfRangeException.ThrowIfNegative(runningMs);
        ArgumentOutOfRangeException.ThrowIfNegative(waitedMs);
        var cycle = Math.Max(dutyCycleMs, batchLatencyMs);
        // Batches that must start before the one holding this request.
        var batchesAhead = queuedAhead / batchSize;
        var predicted = waitedMs + runningMs + batchesAhead * cycle + batchLatencyMs;
        return predicted <= sloMs
            ? new AdmissionDecision(true, predicted, null)
            : new AdmissionDecision(false, predicted,
                $"cannot meet the {sloMs:0.###} ms SLO: {waitedMs:0.###} ms spent before reaching the model, {runningMs:0.###} ms of batches running and {queuedAhead} request(s) queued ahead in batches of {batchSize}, predicted {predicted:0.###} ms");
    }

    /// <summary>
    /// Milliseconds until the batches already sent to the device are done, taking them in the order they were sent:
    /// the device runs a model's batches one after another, each starting when it was sent or when the one before it
    /// ended, whichever is later; one that has run past its latency is taken as just finishing. With several device
    /// threads per gpulet the batches overlap and this overestimates, so admission errs towards refusing.
    /// </summary>
    /// <param name="running">The model's batches on the device, oldest first.</param>
    public static double RemainingMs(IEnumerable<RunningBatch> running)
    {
        // Times relative to now: a batch sent 5 ms ago was sent at -5.
        var freeAt = double.NegativeInfinity;
        foreach (var batch in running)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(batch.LatencyMs);
            // Still on the list means not done yet, so a batch past its latency is at best just finishing.
            freeAt = Math.Max(0, Math.Max(freeAt, -batch.SinceDispatchMs) + batch.LatencyMs);
        }
        return double.IsNegativeInfinity(freeAt) ? 0 : freeAt;
    }
}
