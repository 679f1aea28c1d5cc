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

    /// <summary>Current residency.</summary>
    ResidencySnapshot Snapshot();
}
