namespace OrleansServe.Scheduler.Profiles;

/// <summary>One roofline estimate and its parts, in milliseconds.</summary>
/// <param name="OverheadMs">Kernel launches: layers × launch cost.</param>
/// <param name="ComputeMs">FLOPs over the partition's achievable FLOP/s at this batch.</param>
/// <param name="MemoryMs">Weight and activation bytes over the partition's achievable bandwidth.</param>
public sealed record RooflineEstimate(double OverheadMs, double ComputeMs, double MemoryMs)
{
    /// <summary>Overhead plus the binding one of compute and memory.</summary>
    public double LatencyMs => OverheadMs + Math.Max(ComputeMs, MemoryMs);
}

/// <summary>
/// Solo latency estimated from a model's FLOPs and bytes and a device's peaks, until measured profiles exist:
/// L(b, p) = layers · launch + max(F·b / (peak · eff(b, p) · s), (W + A·b) / (bw · eff_mem · m(p))), with s = p / 100
/// the SM share and m(p) the bandwidth share (<see cref="DeviceSpec.MemoryShare"/>).
/// </summary>
/// <remarks>
/// A fixed efficiency would make latency ∝ batch for compute-bound models and leave nothing to gain from batching;
/// instead efficiency rises with the items in flight, eff(b, p) = eff_max · b / (b + b½ · s): a batch too small to fill
/// the SMs runs them at low efficiency, and a smaller partition fills with fewer items. The compute term is then
/// F · (b + b½ · s) / (peak · eff_max · s): a batch-1 floor that barely depends on the share plus a part that scales
/// with batch / share — the knee gpulet's partitioning looks for.
/// </remarks>
public sealed class RooflineEstimator(DeviceSpec device)
{
    /// <summary>Batches a profile is taken at (gpulet: 1, 2, 4, …, 32).</summary>
    public static IReadOnlyList<int> ProfiledBatches { get; } = [1, 2, 4, 8, 16, 32];

    public DeviceSpec Device { get; } = device;

    /// <summary>Estimate for a batch on a partition (percent of the SMs).</summary>
    public RooflineEstimate Estimate(ModelFeatures model, int partition, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partition, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partition, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var share = DeviceSpec.ComputeShare(partition);
        var overhead = model.Layers * Device.LaunchSecondsPerLayer;
        var compute = model.FlopsPerItem * (batch + Device.HalfEfficiencyBatch * share)
            / (Device.PeakFlopsPerSecond * Device.ComputeEfficiency * share);
        var memory = (model.WeightBytes + (double)model.ActivationBytesPerItem * batch)
            / (Device.MemoryBytesPerSecond * Device.MemoryEfficiency * Device.MemoryShare(partition));
        return new RooflineEstimate(overhead * 1e3, compute * 1e3, memory * 1e3);
    }

    /// <summary>Estimated milliseconds for a batch on a partition.</summary>
    public double LatencyMs(ModelFeatures model, int partition, int batch) => Estimate(model, partition, batch).LatencyMs;

    /// <summary>Profile rows for a model, tagged <see cref="ProfileSource.Roofline"/> and this device.</summary>
    public IEnumerable<ProfileRow> Rows(ModelFeatures model, IEnumerable<int>? partitions = null, IEnumerable<int>? batches = null)
    {
        foreach (var partition in partitions ?? ClusterSpec.GpuletPartitions)
        {
            foreach (var batch in batches ?? ProfiledBatches)
            {
                yield return new ProfileRow(model.Name, partition, batch, LatencyMs(model, partition, batch), Device.Name, ProfileSource.Roofline);
            }
        }
    }

    /// <summary>A profile table of the models on gpulet's partitions and profiled batches unless others are given.</summary>
    public ProfileTable Table(IEnumerable<ModelFeatures> models, IEnumerable<int>? partitions = null, IEnumerable<int>? batches = null) =>
        new(models.SelectMany(m => Rows(m, partitions?.ToList(), batches?.ToList())));
}
