using OrleansServe.Scheduler;

namespace OrleansServe.Simulator;

/// <summary>
/// A stand-in latency model for when no profile CSV is given: a roofline over the zoo's graph features — the slower
/// of compute (FLOPs at an effective rate scaled by the SM share) and memory traffic (weights plus per-item
/// activations at full bandwidth), plus a fixed launch overhead. Not calibrated against any GPU; measured profiles
/// (a CSV, or the scheduler's profile table once wired in) replace it.
/// </summary>
/// <param name="EffectiveFlopsPerSecond">FLOP/s a whole GPU sustains on these models.</param>
/// <param name="MemoryBytesPerSecond">Device memory bandwidth.</param>
/// <param name="OverheadMs">Per-batch launch and synchronisation cost.</param>
public sealed record AnalyticLatencyModel(double EffectiveFlopsPerSecond = 3.5e12, double MemoryBytesPerSecond = 600e9, double OverheadMs = 0.2) : ILatencyModel
{
    /// <inheritdoc />
    public double LatencyMs(string model, int partition, int batch)
    {
        var architecture = ZooCatalog.Find(Workloads.ArchitectureOf(model))
            ?? throw new ArgumentException($"the analytic latency model knows only the zoo architectures; got '{model}'", nameof(model));
        var share = Math.Clamp(partition, 1, 100) / 100.0;
        var computeMs = batch * architecture.FlopsPerItem / (EffectiveFlopsPerSecond * share) * 1000;
        var memoryMs = (architecture.WeightBytes + (batch * (double)architecture.ActivationBytesPerItem)) / MemoryBytesPerSecond * 1000;
        return OverheadMs + Math.Max(computeMs, memoryMs);
    }
}
