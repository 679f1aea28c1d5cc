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

/// <summary>Settings of the CPU device (see <see cref="CpuDeviceOptions"/>).</summary>
public sealed class CpuDeviceSettings
{
    /// <summary>Device threads; 0 means one per core.</summary>
    public int Workers { get; set; }

    /// <summary>ONNX Runtime intra-op threads per batch.</summary>
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>Bytes of resident models (live sessions).</summary>
    public long MemoryBudgetBytes { get; set; } = 2L << 30;

    /// <summary>Let ONNX Runtime threads spin.</summary>
    public bool AllowSpinning { get; set; }

    /// <summary>The engine's options.</summary>
    public CpuDeviceOptions ToOptions() => new()
    {
        Workers = Workers > 0 ? Workers : Math.Max(1, Environment.ProcessorCount),
        IntraOpThreads = Math.Max(1, IntraOpThreads),
        MemoryBudgetBytes = MemoryBudgetBytes,
        AllowSpinning = AllowSpinning,
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
}
