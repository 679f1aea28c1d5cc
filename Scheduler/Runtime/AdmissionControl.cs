namespace OrleansServe.Scheduler.Runtime;

/// <summary>What admission control decided for one request.</summary>
/// <param name="Reason">Why the request is refused (null when admitted), for the 503 body.</param>
public readonly record struct AdmissionDecision(bool Admitted, double PredictedLatencyMs, string? Reason);

/// <summary>
/// Clockwork's rule: a request that cannot finish within its SLO under the current plan is refused at once
/// rather than answered late. The prediction assumes the queue ahead drains in full batches of the planned size,
/// one batch per duty cycle, and that the request's own batch takes the planned batch latency.
/// </summary>
public static class AdmissionControl
{
    /// <param name="queuedAhead">Requests of the model already waiting.</param>
    /// <param name="batchSize">Planned batch size (≥ 1).</param>
    /// <param name="batchLatencyMs">Predicted latency of one batch on the model's gpulet or device.</param>
    /// <param name="dutyCycleMs">Time between the model's batch starts (≥ the batch latency; the latency when the device is its own).</param>
    /// <param name="sloMs">The model's latency objective.</param>
    public static AdmissionDecision Decide(int queuedAhead, int batchSize, double batchLatencyMs, double dutyCycleMs, double sloMs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(queuedAhead);
        var cycle = Math.Max(dutyCycleMs, batchLatencyMs);
        // Batches that must start before the one holding this request.
        var batchesAhead = queuedAhead / batchSize;
        var predicted = batchesAhead * cycle + batchLatencyMs;
        return predicted <= sloMs
            ? new AdmissionDecision(true, predicted, null)
            : new AdmissionDecision(false, predicted,
                $"cannot meet the {sloMs:0.###} ms SLO: {queuedAhead} request(s) queued ahead in batches of {batchSize}, predicted {predicted:0.###} ms");
    }
}
