using OrleansServe.Tensors;

namespace OrleansServe.Engine.Execution;

/// <summary>A tensor on the host: element type, shape and row-major little-endian bytes.</summary>
public sealed record NamedTensor(string Name, ElementType ElementType, long[] Shape, ReadOnlyMemory<byte> Data);

/// <summary>The outputs of one batch and where its time went (the three compute phases of Triton's statistics).</summary>
public sealed record DeviceRunResult(NamedTensor[] Outputs, long ComputeInputNs, long ComputeInferNs, long ComputeOutputNs, bool SwappedIn);

/// <summary>A model resident on a device and how many batches currently pin it.</summary>
public sealed record ResidentModel(string Model, long Bytes, int Pins);

/// <summary>A point-in-time view of a device's residency.</summary>
public sealed record ResidencySnapshot(long BudgetBytes, long UsedBytes, IReadOnlyList<ResidentModel> Resident, long SwapIns, long Evictions, int InFlight)
{
    /// <summary>The device's gpulets (empty for a single gpulet's own snapshot).</summary>
    public IReadOnlyList<GpuletSnapshot> Gpulets { get; init; } = [];
}

/// <summary>A device ran out of room: every resident model is pinned by a batch in flight, or the model is larger than the budget.</summary>
public sealed class DeviceMemoryException(string message) : Exception(message);

/// <summary>
/// A model's weights did not reach the device: a copy of one of its transfer groups failed or was stopped. The
/// swap-in is void (the model leaves the device), and every batch that waited for those weights fails with this.
/// </summary>
public sealed class SwapInException(string model, string reason, Exception? inner = null)
    : Exception($"model '{model}' could not be swapped in: {reason}", inner)
{
    /// <summary>The model whose swap-in failed.</summary>
    public string Model { get; } = model;
}
