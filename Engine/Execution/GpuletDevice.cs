namespace OrleansServe.Engine.Execution;

/// <summary>
/// What every device built of gpulets shares: its id and memory budget, and its <see cref="GpuletSet"/>, which routes
/// batches, keeps residency per gpulet, evicts, reports and repartitions. A backend says what a gpulet is.
/// </summary>
public abstract class GpuletDevice(string id, long memoryBudgetBytes) : IExecutionDevice
{
    private GpuletSet? gpulets;

    /// <inheritdoc />
    public string Id { get; } = id;

    /// <inheritdoc />
    public abstract string Kind { get; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public long MemoryBudgetBytes { get; } = memoryBudgetBytes;

    /// <summary>The device's gpulets.</summary>
    protected GpuletSet GpuletSet => gpulets ?? throw new InvalidOperationException($"device '{Id}' has no gpulets yet");

    /// <inheritdoc />
    public IReadOnlyList<PartitionSpec> Partitions => GpuletSet.Partitions;

    /// <inheritdoc />
    public Task EnsureResidentAsync(string model) => GpuletSet.EnsureResidentAsync(model);

    /// <inheritdoc />
    public Task<DeviceRunResult> RunAsync(string model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs) =>
        GpuletSet.RunAsync(model, inputs, outputs);

    /// <inheritdoc />
    public bool Evict(string model) => GpuletSet.Evict(model);

    /// <inheritdoc />
    public ResidencySnapshot Snapshot() => GpuletSet.Snapshot();

    /// <inheritdoc />
    public Task RepartitionAsync(IReadOnlyList<PartitionSpec> partitions) => GpuletSet.RepartitionAsync(partitions);

    /// <summary>
    /// Makes the gpulets, split as <paramref name="initial"/> says (the whole device when null). A derived constructor
    /// calls it last, once everything <paramref name="create"/> needs is in place. <paramref name="create"/> is given a
    /// gpulet's spec, its memory share and the replica check its residency asks eviction about.
    /// </summary>
    protected void MakeGpulets(Func<PartitionSpec, long, Func<string, IGpulet, bool>, IGpulet> create, IReadOnlyList<PartitionSpec>? initial) =>
        gpulets = new GpuletSet(MemoryBudgetBytes, (spec, bytes) => create(spec, bytes, HasReplicaElsewhere), initial);

    // Asked only when a gpulet evicts, which is after the set is made.
    private bool HasReplicaElsewhere(string model, IGpulet self) => GpuletSet.HasReplicaElsewhere(model, self);

    /// <summary>Finishes batches in flight and evicts every model, gpulet by gpulet.</summary>
    public virtual void Dispose()
    {
        gpulets?.Dispose();
        GC.SuppressFinalize(this);
    }
}
