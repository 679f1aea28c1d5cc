namespace OrleansServe.Engine.Execution;

/// <summary>
/// A device that runs models: a GPU, or the CPU device of a machine without one. Residency is the set of models
/// ready to run on it; a swap-in makes a model resident from the host weight store.
/// </summary>
public interface IExecutionDevice : IDisposable
{
    /// <summary>Stable identifier within the process, e.g. "cpu0".</summary>
    string Id { get; }

    /// <summary>"cpu" or "cuda".</summary>
    string Kind { get; }

    /// <summary>Human-readable device name.</summary>
    string Name { get; }

    /// <summary>Bytes available to resident models.</summary>
    long MemoryBudgetBytes { get; }

    /// <summary>Swaps a model in if it is not resident.</summary>
    Task EnsureResidentAsync(string model);

    /// <summary>Runs one batch, swapping the model in first when needed; the inputs are already stacked.</summary>
    Task<DeviceRunResult> RunAsync(string model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs);

    /// <summary>Evicts a model unless a batch pins it; true when it was evicted.</summary>
    bool Evict(string model);

    /// <summary>Current residency, summed over the gpulets, with each gpulet's own.</summary>
    ResidencySnapshot Snapshot();

    /// <summary>The gpulets the device is split into now.</summary>
    IReadOnlyList<PartitionSpec> Partitions { get; }

    /// <summary>
    /// Splits the device into new gpulets. New batches go to the new gpulets at once; batches in flight on the old
    /// ones finish there before those are released, so no request is lost. Throws <see cref="ArgumentException"/>
    /// for a split the device cannot make (shares summing over 100%, memory over the budget).
    /// </summary>
    Task RepartitionAsync(IReadOnlyList<PartitionSpec> partitions);
}
