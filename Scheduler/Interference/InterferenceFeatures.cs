using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Scheduler.Interference;

/// <summary>What a model does to the shared GPU while it runs solo on a partition, at the feature batch.</summary>
/// <param name="SoloLatencyMs">Solo batch latency from the latency model.</param>
/// <param name="ComputeIntensity">FLOPs per byte moved (weights + activations of the batch).</param>
/// <param name="ComputeUtilisation">Achieved FLOP/s over the partition's peak: F·b / (L · peak · share).</param>
/// <param name="MemoryUtilisation">Achieved bandwidth over the partition's reachable bandwidth: bytes / (L · bw · memshare).</param>
public sealed record InterferenceFeatures(
    string Model,
    int Partition,
    int Batch,
    double SoloLatencyMs,
    double ComputeIntensity,
    double ComputeUtilisation,
    double MemoryUtilisation)
{
    /// <summary>Share of the whole GPU's FLOP/s this model uses (utilisation × SM share), what a neighbour competes with.</summary>
    public double ComputeFraction { get; init; }

    /// <summary>Share of the whole GPU's DRAM bandwidth this model uses (utilisation × bandwidth share).</summary>
    public double MemoryFraction { get; init; }
}

/// <summary>
/// Computes (and caches) <see cref="InterferenceFeatures"/> from the models' FLOPs and bytes and a latency model —
/// roofline estimates now, measured profile tables later.
/// </summary>
/// <param name="batch">Batch the features are taken at: the predictor's signature has no batch, so one representative
/// batch stands for all (8: mid-range of gpulet's profiled batches).</param>
public sealed class InterferenceFeatureSource(IEnumerable<ModelFeatures> models, ILatencyModel latency, DeviceSpec device, int batch = 8)
{
    private readonly Dictionary<string, ModelFeatures> models = models.ToDictionary(m => m.Name);
    private readonly Dictionary<(string, int), InterferenceFeatures> cache = [];
    private readonly Lock gate = new();

    public DeviceSpec Device { get; } = device;

    public int Batch { get; } = batch;

    /// <summary>Models with features.</summary>
    public IReadOnlyCollection<string> Models => models.Keys;

    /// <summary>Features of a model on a partition.</summary>
    /// <exception cref="UnknownModelException">No features for the model.</exception>
    public InterferenceFeatures For(string model, int partition)
    {
        lock (gate)
        {
            if (cache.TryGetValue((model, partition), out var cached))
            {
                return cached;
            }
            if (!models.TryGetValue(model, out var m))
            {
                throw new UnknownModelException(model, models.Keys.Order(StringComparer.Ordinal));
            }
            var seconds = latency.LatencyMs(model, partition, Batch) / 1e3;
            var flops = m.FlopsPerItem * Batch;
            var bytes = m.WeightBytes + (double)m.ActivationBytesPerItem * Batch;
            var computeShare = DeviceSpec.ComputeShare(partition);
            var memoryShare = Device.MemoryShare(partition);
            var computeUtilisation = flops / (seconds * Device.PeakFlopsPerSecond * computeShare);
            var memoryUtilisation = bytes / (seconds * Device.MemoryBytesPerSecond * memoryShare);
            var features = new InterferenceFeatures(model, partition, Batch, seconds * 1e3, flops / bytes, computeUtilisation, memoryUtilisation)
            {
                ComputeFraction = computeUtilisation * computeShare,
                MemoryFraction = memoryUtilisation * memoryShare,
            };
            cache[(model, partition)] = features;
            return features;
        }
    }
}
