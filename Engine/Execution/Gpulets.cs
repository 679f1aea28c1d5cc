namespace OrleansServe.Engine.Execution;

/// <summary>
/// One gpulet of a device's plan: its share of the device's compute (SM share on a GPU, share of cores on the CPU
/// device), its share of the device's memory, and the models the plan places on it.
/// </summary>
/// <param name="SmPercent">Compute share in percent (gpulet's set is 20/40/50/60/80/100).</param>
/// <param name="Models">Models the plan binds to this gpulet; models in no gpulet's list go to the least loaded one.</param>
/// <param name="MemoryBytes">Memory share in bytes; 0 gives it the device budget in proportion to <paramref name="SmPercent"/>.</param>
public sealed record PartitionSpec(int SmPercent, IReadOnlyList<string> Models, long MemoryBytes = 0)
{
    /// <summary>The whole device as one gpulet serving every model.</summary>
    public static IReadOnlyList<PartitionSpec> WholeDevice { get; } = [new PartitionSpec(100, [])];
}

/// <summary>
/// A gpulet: runs batches with a share of a device's compute, on its own streams (threads on the CPU device), and
/// keeps its own residency within its memory share. Made and retired by <see cref="GpuletSet"/>.
/// </summary>
public interface IGpulet : IDisposable
{
    /// <summary>Compute share in percent.</summary>
    int SmPercent { get; }

    /// <summary>Bytes of resident models this gpulet may hold.</summary>
    long MemoryBudgetBytes { get; }

    /// <summary>Swaps a model in if it is not resident.</summary>
    Task EnsureResidentAsync(string model);

    /// <summary>Runs one batch, swapping the model in first when needed.</summary>
    Task<DeviceRunResult> RunAsync(string model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs);

    /// <summary>Evicts a model unless a batch pins it; true when it was evicted. Nothing is copied back.</summary>
    bool Evict(string model);

    /// <summary>
    /// True when the model is resident here (or being swapped in). Called while other gpulets hold their own
    /// residency locks (<see cref="GpuletSet.HasReplicaElsewhere"/>), so it must take no lock.
    /// </summary>
    bool IsResident(string model);

    /// <summary>
    /// True when the model's weights fit this gpulet's memory share (or its size is unknown here). Routing never sends a
    /// model to a gpulet that cannot hold it while another can.
    /// </summary>
    bool CanHold(string model);

    /// <summary>Residency and load of this gpulet.</summary>
    ResidencySnapshot Snapshot();
}

/// <summary>One gpulet as operators see it.</summary>
public sealed record GpuletSnapshot(int Index, int SmPercent, IReadOnlyList<string> Models, ResidencySnapshot Residency);
