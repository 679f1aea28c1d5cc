namespace OrleansServe.Scheduler.Planning;

/// <summary>A batch size on a partition and what it gives: batch latency, duty cycle and the rate it sustains.</summary>
public readonly record struct BatchChoice(int Batch, double LatencyMs, double DutyCycleMs, double ThroughputRps);

/// <summary>
/// gpulet's batch rules over a latency model with the planning margin applied: the Nexus half-SLO rule for saturated
/// gpulets, the residue rule for the rest of a model's rate, and the knee of throughput against partition size.
/// </summary>
public sealed class BatchRules(ILatencyModel latency, PlannerOptions options)
{
    /// <summary>The options the rules apply.</summary>
    public PlannerOptions Options { get; } = options;

    /// <summary>Planned batch latency: profiled latency × margin + batching overhead.</summary>
    public double LatencyMs(string model, int partition, int batch) =>
        (latency.LatencyMs(model, partition, batch) * Options.LatencyMargin) + Options.BatchingOverheadMs;

    /// <summary>Largest batch with 2·L(b,p) ≤ SLO; the gpulet runs back to back, so its duty cycle is L.</summary>
    public BatchChoice? Saturated(ModelSpec model, int partition)
    {
        for (var b = Options.MaxBatch; b >= 1; b--)
        {
            var l = LatencyMs(model.Name, partition, b);
            if (2 * l <= model.SloMs)
            {
                return new BatchChoice(b, l, l, b * 1000.0 / l);
            }
        }

        return null;
    }

    /// <summary>
    /// Largest batch with L(b,p) + 1000·b/rate ≤ SLO whose duty cycle 1000·b/rate leaves time for the batch. When even
    /// batch 1 fails only because requests are rarer than the SLO, the gpulet visits the model every SLO − L(1,p)
    /// instead: fewer than one request arrives per visit, so batch 1 still covers the rate.
    /// </summary>
    public BatchChoice? Residue(ModelSpec model, int partition, double rateRps)
    {
        if (rateRps <= 0)
        {
            return null;
        }

        for (var b = Options.MaxBatch; b >= 1; b--)
        {
            var l = LatencyMs(model.Name, partition, b);
            var fill = b * 1000.0 / rateRps;
            if (l + fill <= model.SloMs && fill >= l)
            {
                return new BatchChoice(b, l, fill, rateRps);
            }
        }

        var l1 = LatencyMs(model.Name, partition, 1);
        var duty = model.SloMs - l1;
        return duty >= l1 && 1000.0 / rateRps > duty ? new BatchChoice(1, l1, duty, rateRps) : null;
    }

    /// <summary>
    /// The knee of saturated throughput against partition: the upper end of the adjacent pair with the largest
    /// throughput gain per percent, ignoring relative gains under <see cref="PlannerOptions.KneeMinGain"/>; ties go to
    /// the larger size (a straight line has no knee, so take the whole span). Null when no size meets the SLO.
    /// </summary>
    public int? IdealPartition(ModelSpec model, IReadOnlyList<int> partitions)
    {
        var feasible = partitions.Order()
            .Select(p => (Partition: p, Choice: Saturated(model, p)))
            .Where(x => x.Choice is not null)
            .Select(x => (x.Partition, Throughput: x.Choice!.Value.ThroughputRps))
            .ToList();
        if (feasible.Count == 0)
        {
            return null;
        }

        var ideal = feasible[0].Partition;
        var bestGain = double.NegativeInfinity;
        for (var i = 0; i + 1 < feasible.Count; i++)
        {
            var (p0, t0) = feasible[i];
            var (p1, t1) = feasible[i + 1];
            if ((t1 - t0) / t0 < Options.KneeMinGain)
            {
                continue;
            }

            var gainPerPercent = (t1 - t0) / (p1 - p0);
            if (gainPerPercent >= bestGain * (1 - 1e-9))
            {
                bestGain = Math.Max(bestGain, gainPerPercent);
                ideal = p1;
            }
        }

        return ideal;
    }

    /// <summary>Smallest partition at which a residue gpulet alone meets the SLO for the rate, or null.</summary>
    public int? SmallestResiduePartition(ModelSpec model, IReadOnlyList<int> partitions, double rateRps) =>
        partitions.Order().Where(p => Residue(model, p, rateRps) is not null).Select(p => (int?)p).FirstOrDefault();

    /// <summary>Why a model cannot be served at all: its batch-1 latency on a whole GPU against its SLO.</summary>
    public string InfeasibleReason(ModelSpec model)
    {
        var l1 = LatencyMs(model.Name, 100, 1);
        return l1 > model.SloMs
            ? $"SLO {model.SloMs:0.##} ms is below its batch-1 latency {l1:0.##} ms on a whole GPU"
            : $"SLO {model.SloMs:0.##} ms leaves no duty cycle after its batch-1 latency {l1:0.##} ms on a whole GPU";
    }
}
