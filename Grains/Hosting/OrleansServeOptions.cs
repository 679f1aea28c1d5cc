using Microsoft.Extensions.Options;
using OrleansServe.Engine.Execution;

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

    /// <summary>The CPU device every silo without a GPU exposes.</summary>
    public CpuDeviceSettings CpuDevice { get; set; } = new();

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
        };
    }
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
}

/// <summary>Refuses to start a silo whose settings cannot make its devices, naming the setting and why.</summary>
public sealed class OrleansServeOptionsValidator : IValidateOptions<OrleansServeOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, OrleansServeOptions options) =>
        options.CpuDevice.Validate() is { } error
            ? ValidateOptionsResult.Fail(error)
            : ValidateOptionsResult.Success;
}
