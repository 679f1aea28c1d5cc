using Microsoft.Extensions.Options;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.OnnxRuntime;

namespace OrleansServe.Grains.Hosting;

/// <summary>Server settings, bound from the "OrleansServe" configuration section.</summary>
public sealed class OrleansServeOptions
{
    /// <summary>Configuration section name.</summary>
    public const string Section = "OrleansServe";

    /// <summary>The model repository folder (Triton layout).</summary>
    public string ModelRepository { get; set; } = "model-repository";

    /// <summary>Load every model of the repository when the silo starts.</summary>
    public bool LoadModelsOnStart { get; set; } = true;

    /// <summary>Write the generated sample zoo into an empty repository on start.</summary>
    public bool WriteSampleZooWhenEmpty { get; set; } = true;

    /// <summary>Host memory the silo may hold model weights in.</summary>
    public long HostMemoryBytes { get; set; } = 8L << 30;

    /// <summary>Largest model file the silo reads.</summary>
    public long MaxModelBytes { get; set; } = int.MaxValue;

    /// <summary>Batches of one model that may be on devices at once; more keeps devices busy, fewer forms larger batches.</summary>
    public int MaxInflightBatchesPerModel { get; set; } = 2;

    /// <summary>
    /// Page-locked host memory for the packed weights GPU devices swap in from (used only when the silo has a GPU
    /// device); a model over it is refused with the reason.
    /// </summary>
    public long PinnedMemoryBytes { get; set; } = 4L << 30;

    /// <summary>Target size of a transfer group: weights are packed and swapped in in layer-aligned chunks of about this size.</summary>
    public long TransferGroupBytes { get; set; } = 2L << 20;

    /// <summary>The CPU device every silo exposes.</summary>
    public CpuDeviceSettings CpuDevice { get; set; } = new();

    /// <summary>The GPU devices of the silo (section OrleansServe:Gpu).</summary>
    public GpuSettings Gpu { get; set; } = new();

    /// <summary>The scheduler's periodic re-planning.</summary>
    public SchedulerSettings Scheduler { get; set; } = new();
}

/// <summary>Settings of the CPU device (see <see cref="CpuDeviceOptions"/>), section OrleansServe:CpuDevice.</summary>
public sealed class CpuDeviceSettings
{
    /// <summary>Cores the device shares out between its gpulets; 0 means every core of the machine.</summary>
    public int Cores { get; set; }

    /// <summary>Device threads of each gpulet (batches one gpulet runs at once).</summary>
    public int WorkersPerGpulet { get; set; } = 1;

    /// <summary>
    /// Core shares in percent of the gpulets the device starts with, e.g. [100] (the default) or [50, 50]; each
    /// 1 to 100, summing to at most 100. Memory is shared in proportion.
    /// </summary>
    /// <remarks>Null rather than [100] by default: the configuration binder appends to a list it finds.</remarks>
    public int[]? Partitions { get; set; }

    /// <summary>Bytes of resident models (live sessions), over all gpulets.</summary>
    public long MemoryBudgetBytes { get; set; } = 2L << 30;

    /// <summary>Let ONNX Runtime threads spin.</summary>
    public bool AllowSpinning { get; set; }

    /// <summary>"lru", or "torpor" (replicas on another gpulet first, then light models, then heavy ones by LRU).</summary>
    public string Eviction { get; set; } = "lru";

    /// <summary>Why these settings cannot start a device, or null when they can.</summary>
    public string? Validate()
    {
        const string key = $"{OrleansServeOptions.Section}:CpuDevice";
        if (Cores < 0)
        {
            return $"{key}:Cores must be 0 (every core) or more, not {Cores}";
        }
        if (WorkersPerGpulet < 1)
        {
            return $"{key}:WorkersPerGpulet must be at least 1, not {WorkersPerGpulet}";
        }
        if (MemoryBudgetBytes <= 0)
        {
            return $"{key}:MemoryBudgetBytes must be positive, not {MemoryBudgetBytes}";
        }
        if (Eviction is not ("lru" or "torpor"))
        {
            return $"{key}:Eviction must be lru or torpor, not '{Eviction}'";
        }
        if (Partitions is { } shares)
        {
            if (shares.Length == 0)
            {
                return $"{key}:Partitions must name at least one gpulet, e.g. [100] or [50, 50]";
            }
            var outOfRange = shares.Where(s => s is < 1 or > 100).ToList();
            if (outOfRange.Count > 0)
            {
                return $"{key}:Partitions: every share must be 1 to 100 percent of the cores, not {string.Join(", ", outOfRange)}";
            }
            if (shares.Sum() > 100)
            {
                return $"{key}:Partitions [{string.Join(", ", shares)}] sum to {shares.Sum()}%: the shares of one device sum to at most 100";
            }
        }
        return null;
    }

    /// <summary>The engine's options; throws <see cref="InvalidOperationException"/> with the reason when the settings are invalid.</summary>
    public CpuDeviceOptions ToOptions()
    {
        if (Validate() is { } error)
        {
            throw new InvalidOperationException(error);
        }
        return new()
        {
            Cores = Cores > 0 ? Cores : Math.Max(1, Environment.ProcessorCount),
            WorkersPerGpulet = WorkersPerGpulet,
            Partitions = Partitions is { } shares ? [.. shares.Select(s => new PartitionSpec(s, []))] : PartitionSpec.WholeDevice,
            MemoryBudgetBytes = MemoryBudgetBytes,
            AllowSpinning = AllowSpinning,
            Eviction = Eviction == "torpor" ? EvictionPolicy.Torpor : EvictionPolicy.Lru,
        };
    }
}

/// <summary>Settings of the silo's GPU devices (see <see cref="GpuExecutionOptions"/>), section OrleansServe:Gpu.</summary>
public sealed class GpuSettings
{
    private const string Key = $"{OrleansServeOptions.Section}:Gpu";

    /// <summary>
    /// "auto" (every CUDA device the driver shows, none when there is no GPU), "cuda" (every CUDA device; the silo
    /// refuses to start without one), "ilgpu-cpu" (one device running the GPU engine on ILGPU's CPU accelerator, for
    /// tests and demonstrations) or "off".
    /// </summary>
    public string Mode { get; set; } = "auto";

    /// <summary>Fraction of a CUDA device's free memory reserved at start (when <see cref="ReservedBytes"/> is 0).</summary>
    public double ReservedFraction { get; set; } = 0.9;

    /// <summary>Bytes reserved at start per device; 0 takes <see cref="ReservedFraction"/> (256 MiB on ilgpu-cpu).</summary>
    public long ReservedBytes { get; set; }

    /// <summary>Fraction of the reserved memory kept for activation workspaces; the rest holds resident weights.</summary>
    public double WorkspaceFraction { get; set; } = 0.25;

    /// <summary>"lru", or "torpor" (light models first, then heavy ones by LRU; replicas before sole copies).</summary>
    public string Eviction { get; set; } = "lru";

    /// <summary>"pipelined" (compute starts before the last weights land) or "transfer-then-run".</summary>
    public string SwapMode { get; set; } = "pipelined";

    /// <summary>SM shares of the gpulets each device starts with, e.g. [50, 50]; the whole device when null.</summary>
    public int[]? Partitions { get; set; }

    /// <summary>Replay forward passes from CUDA graphs once a model is fully resident.</summary>
    public bool UseCudaGraphs { get; set; }

    /// <summary>Why these settings cannot start the devices, or null when they can.</summary>
    public string? Validate()
    {
        if (Mode is not ("auto" or "cuda" or "ilgpu-cpu" or "off"))
        {
            return $"{Key}:Mode must be auto, cuda, ilgpu-cpu or off, not '{Mode}'";
        }
        if (ReservedFraction is <= 0 or > 1)
        {
            return $"{Key}:ReservedFraction must be in (0, 1], not {ReservedFraction}";
        }
        if (ReservedBytes < 0)
        {
            return $"{Key}:ReservedBytes must be 0 (use the fraction) or positive, not {ReservedBytes}";
        }
        if (WorkspaceFraction is < 0 or >= 1)
        {
            return $"{Key}:WorkspaceFraction must be in [0, 1), not {WorkspaceFraction}";
        }
        if (Eviction is not ("lru" or "torpor"))
        {
            return $"{Key}:Eviction must be lru or torpor, not '{Eviction}'";
        }
        if (SwapMode is not ("pipelined" or "transfer-then-run"))
        {
            return $"{Key}:SwapMode must be pipelined or transfer-then-run, not '{SwapMode}'";
        }
        if (Partitions is { } shares && (shares.Length == 0 || shares.Any(v => v is < 1 or > 100) || shares.Sum() > 100))
        {
            return $"{Key}:Partitions [{string.Join(", ", shares)}] must name gpulets of 1 to 100 percent summing to at most 100";
        }
        return null;
    }

    /// <summary>The engine's options for one device.</summary>
    public GpuExecutionOptions ToOptions() => new()
    {
        ReservedFraction = ReservedFraction,
        ReservedBytes = ReservedBytes,
        WorkspaceFraction = WorkspaceFraction,
        Eviction = Eviction == "torpor" ? EvictionPolicy.Torpor : EvictionPolicy.Lru,
        SwapMode = SwapMode == "pipelined" ? Engine.Gpu.SwapMode.Pipelined : Engine.Gpu.SwapMode.TransferThenRun,
        Partitions = Partitions is { } shares ? [.. shares.Select(v => new PartitionSpec(v, []))] : null,
        UseCudaGraphs = UseCudaGraphs,
    };
}

/// <summary>Settings of the scheduler grain's re-planning (section OrleansServe:Scheduler).</summary>
public sealed class SchedulerSettings
{
    /// <summary>Seconds between re-plans (gpulet re-planned every 20 s); 0 re-plans only when asked.</summary>
    public double ReplanPeriodSeconds { get; set; } = 20;

    /// <summary>The planner: gpulet, temporal, swap or orleansserve.</summary>
    public string Policy { get; set; } = "orleansserve";

    /// <summary>Weight of the newest period in the EWMA of each model's request rate.</summary>
    public double RateEwmaWeight { get; set; } = 0.5;

    /// <summary>
    /// Push each plan's gpulets (SM shares and model bindings) to the devices after a re-plan. Off by default: with
    /// only whole-device profiles measured so far, the planned splits are extrapolations.
    /// </summary>
    public bool ApplyPlan { get; set; }

    /// <summary>
    /// Refuse at once (503, with the reason) a request of a model whose config.json sets slo_ms when the queue ahead
    /// of it cannot drain within that SLO at the model's measured batch latency.
    /// </summary>
    public bool Admission { get; set; } = true;

    /// <summary>The planners <see cref="Policy"/> may name.</summary>
    public static IReadOnlyList<string> Policies => Scheduler.Planning.Planners.Names;

    /// <summary>Why these settings cannot run the scheduler, or null when they can.</summary>
    public string? Validate()
    {
        const string key = $"{OrleansServeOptions.Section}:Scheduler";
        return !Policies.Contains(Policy) ? $"{key}:Policy '{Policy}' is not one of {string.Join(", ", Policies)}"
            : ReplanPeriodSeconds < 0 || double.IsNaN(ReplanPeriodSeconds) ? $"{key}:ReplanPeriodSeconds must be 0 (only when asked) or more, not {ReplanPeriodSeconds}"
            : RateEwmaWeight is <= 0 or > 1 || double.IsNaN(RateEwmaWeight) ? $"{key}:RateEwmaWeight must be in (0, 1], not {RateEwmaWeight}"
            : null;
    }
}

/// <summary>Refuses to start a silo whose settings cannot make its devices, naming the setting and why.</summary>
public sealed class OrleansServeOptionsValidator : IValidateOptions<OrleansServeOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, OrleansServeOptions options) =>
        (options.CpuDevice.Validate() ?? options.Gpu.Validate() ?? options.Scheduler.Validate() ?? ValidateMemory(options)) is { } error
            ? ValidateOptionsResult.Fail(error)
            : ValidateOptionsResult.Success;

    private static string? ValidateMemory(OrleansServeOptions options) =>
        options.PinnedMemoryBytes < 0 ? $"{OrleansServeOptions.Section}:PinnedMemoryBytes cannot be negative ({options.PinnedMemoryBytes})"
        : options.TransferGroupBytes < Engine.Memory.WeightLayout.MinTransferGroupBytes
            ? $"{OrleansServeOptions.Section}:TransferGroupBytes must be at least {Engine.Memory.WeightLayout.MinTransferGroupBytes}, not {options.TransferGroupBytes}"
            : null;
}
