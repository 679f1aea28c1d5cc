namespace OrleansServe.Grains;

/// <summary>What a device is: its grain key, kind ("cpu" or "cuda"), name and memory budget for resident models.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.DeviceDescription")]
public sealed record DeviceDescription(
    [property: Id(0)] string Key,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Name,
    [property: Id(3)] string Silo,
    [property: Id(4)] long MemoryBudgetBytes);

/// <summary>A model resident on a device.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.Residency")]
public sealed record Residency(
    [property: Id(0)] string Model,
    [property: Id(1)] long Bytes,
    [property: Id(2)] int InFlightBatches);

/// <summary>
/// A device's current residency and load, summed over its gpulets, with each gpulet's own. Free bytes are the
/// device budget less the bytes of resident models.
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansserve.DeviceStatus")]
public sealed record DeviceStatus(
    [property: Id(0)] DeviceDescription Description,
    [property: Id(1)] long UsedBytes,
    [property: Id(2)] Residency[] Resident,
    [property: Id(3)] long SwapIns,
    [property: Id(4)] long Evictions,
    [property: Id(5)] int InFlightBatches,
    [property: Id(6)] long FreeBytes,
    [property: Id(7)] GpuletStatus[] Gpulets);

/// <summary>
/// One gpulet of a device: its compute share (SM share on a GPU, share of the cores on the CPU device), the models
/// the plan binds to it, its memory share and what is resident in it (with the batches pinning each model), its
/// batches in flight, and its swap-ins and evictions since it was made.
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansserve.GpuletStatus")]
public sealed record GpuletStatus(
    [property: Id(0)] int Index,
    [property: Id(1)] int SmPercent,
    [property: Id(2)] string[] Models,
    [property: Id(3)] long MemoryBudgetBytes,
    [property: Id(4)] long UsedBytes,
    [property: Id(5)] long FreeBytes,
    [property: Id(6)] Residency[] Resident,
    [property: Id(7)] int InFlightBatches,
    [property: Id(8)] long SwapIns,
    [property: Id(9)] long Evictions);

/// <summary>
/// One gpulet of a requested split: compute share in percent (1 to 100; a device's shares sum to at most 100), the
/// models bound to it (models in no gpulet's list go where they are resident, else to the least loaded gpulet), and
/// its memory share in bytes (0: the rest of the budget in proportion to the compute share).
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansserve.GpuletPlan")]
public sealed record GpuletPlan(
    [property: Id(0)] int SmPercent,
    [property: Id(1)] string[] Models,
    [property: Id(2)] long MemoryBytes = 0);

/// <summary>A batch of stacked inputs for one model, to run on a device.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.ExecutionBatch")]
public sealed record ExecutionBatch(
    [property: Id(0)] string Model,
    [property: Id(1)] Tensor[] Inputs,
    [property: Id(2)] string[] Outputs);

/// <summary>The outputs of a batch and where its time went.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.ExecutionResult")]
public sealed record ExecutionResult(
    [property: Id(0)] Tensor[] Outputs,
    [property: Id(1)] long ComputeInputNs,
    [property: Id(2)] long ComputeInferNs,
    [property: Id(3)] long ComputeOutputNs,
    [property: Id(4)] bool SwappedIn);

/// <summary>Which models a device serves, and at which batch size. A plan is data: the planner issue plugs in here.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.DeviceAssignment")]
public sealed record DeviceAssignment(
    [property: Id(0)] string DeviceKey,
    [property: Id(1)] int PartitionPercent,
    [property: Id(2)] string[] Models,
    [property: Id(3)] int[] BatchSizes);

/// <summary>The current placement of models on devices.</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.Plan")]
public sealed record Plan(
    [property: Id(0)] long Version,
    [property: Id(1)] DeviceAssignment[] Assignments);

/// <summary>
/// gpulet's interference regression as the live scheduler uses it: slowdown = mem_self·m + mem_other·m' +
/// comp_self·c + comp_other·c' + constant, with m, c a model's shares of the device's memory bandwidth and compute
/// (from its graph cost and profiled latency on <see cref="Device"/>, one of the scheduler's device presets) and m',
/// c' its neighbour's. Fitted offline (e.g. to <c>swap-bench --measure pairs</c>) and imported.
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansserve.InterferenceSettings")]
public sealed record InterferenceSettings(
    [property: Id(0)] double MemSelf,
    [property: Id(1)] double MemOther,
    [property: Id(2)] double CompSelf,
    [property: Id(3)] double CompOther,
    [property: Id(4)] double Constant,
    [property: Id(5)] string Device);
