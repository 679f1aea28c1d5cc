namespace OrleansServe.Scheduler;

/// <summary>A model as the scheduler sees it: its SLO and what one copy of it needs on a GPU.</summary>
/// <param name="MemoryBytes">Device bytes of one resident copy (weights + workspace at the largest batch).</param>
/// <param name="WeightBytes">Bytes a swap-in moves over PCIe.</param>
public sealed record ModelSpec(string Name, double SloMs, long MemoryBytes, long WeightBytes);

/// <summary>A model and the request rate it must be served at.</summary>
public sealed record ModelDemand(ModelSpec Model, double RateRps);

/// <summary>The GPUs a plan may use.</summary>
/// <param name="MaxGpus">GPUs available (the plan uses as few as it can).</param>
/// <param name="GpuMemoryBytes">Device memory of one GPU available to models.</param>
/// <param name="Partitions">Allowed gpulet SM shares in percent (gpulet: 20, 40, 50, 60, 80, 100).</param>
/// <param name="MaxGpuletsPerGpu">gpulet: 2 (a complementary pair p / 100 − p).</param>
/// <param name="MaxModelsPerGpulet">gpulet: 3.</param>
/// <param name="PcieBytesPerSecond">Host→device bandwidth per GPU, for swap-in times.</param>
public sealed record ClusterSpec(
    int MaxGpus,
    long GpuMemoryBytes,
    IReadOnlyList<int> Partitions,
    int MaxGpuletsPerGpu = 2,
    int MaxModelsPerGpulet = 3,
    double PcieBytesPerSecond = 12e9)
{
    public static IReadOnlyList<int> GpuletPartitions { get; } = [20, 40, 50, 60, 80, 100];
}

/// <summary>Latency of a model at a batch size on an SM share, solo (no neighbour).</summary>
public interface ILatencyModel
{
    /// <summary>Milliseconds for one batch; partition in percent of the GPU's SMs.</summary>
    double LatencyMs(string model, int partition, int batch);
}

/// <summary>Predicted slowdown (≥ 1) of a model on its gpulet while another model runs on the neighbouring gpulet.</summary>
public interface IInterferencePredictor
{
    double Slowdown(string model, int partition, string neighbour, int neighbourPartition);
}

/// <summary>No interference: every slowdown is 1.</summary>
public sealed class NoInterference : IInterferencePredictor
{
    public static NoInterference Instance { get; } = new();

    public double Slowdown(string model, int partition, string neighbour, int neighbourPartition) => 1.0;
}

/// <summary>One model served on a gpulet: its batch size, duty cycle and the rate this assignment covers.</summary>
/// <param name="DutyCycleMs">Time between batch starts; the gpulet runs its models' batches in turn within it.</param>
/// <param name="LatencyMs">Predicted batch latency on this gpulet, interference included.</param>
public sealed record GpuletAssignment(string Model, int Batch, double DutyCycleMs, double LatencyMs, double RateRps);

/// <summary>A virtual GPU: an SM share of one GPU and the models sharing it in time.</summary>
public sealed record Gpulet(int Partition, IReadOnlyList<GpuletAssignment> Models);

/// <summary>One physical GPU's gpulets (their partitions sum to at most 100).</summary>
public sealed record GpuPlan(int Gpu, IReadOnlyList<Gpulet> Gpulets);

/// <summary>
/// A schedule: the GPUs used, their gpulets and assignments; models served by swapping into spare room instead of
/// a gpulet of their own; and models the policy could not fit, with the reason. Plain data, serialisable as JSON.
/// </summary>
public sealed record SchedulePlan(
    string Policy,
    IReadOnlyList<GpuPlan> Gpus,
    IReadOnlyList<string> SwapServed,
    IReadOnlyDictionary<string, string> Unscheduled)
{
    public bool IsComplete => Unscheduled.Count == 0;
}

/// <summary>A scheduling policy: demands in, plan out; pure (no clocks, no I/O).</summary>
public interface IPlanner
{
    /// <summary>"gpulet", "temporal", "swap" or "orleansserve".</summary>
    string Name { get; }

    SchedulePlan Plan(IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference);
}
