using OrleansServe.Engine.Execution;

namespace OrleansServe.Engine.OnnxRuntime;

/// <summary>Settings of the CPU device.</summary>
public sealed record CpuDeviceOptions
{
    /// <summary>The device's cores; a gpulet of share s gets max(1, round(s × cores)) ONNX Runtime intra-op threads.</summary>
    public int Cores { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>Device threads of each gpulet, i.e. batches one gpulet runs at once.</summary>
    public int WorkersPerGpulet { get; init; } = 1;

    /// <summary>The gpulets the device starts with.</summary>
    public IReadOnlyList<PartitionSpec> Partitions { get; init; } = PartitionSpec.WholeDevice;

    /// <summary>Bytes of model weights that may be resident as live sessions at once, over all gpulets.</summary>
    public long MemoryBudgetBytes { get; init; } = 2L << 30;

    /// <summary>How long a swap-in waits for memory held by batches in flight before it is refused.</summary>
    public TimeSpan MemoryWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Which resident models a gpulet evicts first when it needs room.</summary>
    public EvictionPolicy Eviction { get; init; } = EvictionPolicy.Lru;

    /// <summary>Models of at most this many bytes are light under <see cref="EvictionPolicy.Torpor"/>.</summary>
    public long LightModelBytes { get; init; } = ResidencyOptions.DefaultLightModelBytes;

    /// <summary>Whether ONNX Runtime threads spin while waiting (faster alone, wasteful when the CPU is shared).</summary>
    public bool AllowSpinning { get; init; }
}

/// <summary>
/// The CPU device: models run in ONNX Runtime on gpulets, each a share of the cores and of the memory budget (see
/// <see cref="CpuGpulet"/>). Resident means a live inference session on a gpulet, made from the host-memory
/// weights; swap-in means building that session; eviction disposes it.
/// </summary>
public sealed class CpuDevice : GpuletDevice
{
    private int gpuletsMade;

    /// <summary>Creates the device split as <see cref="CpuDeviceOptions.Partitions"/> says and starts its threads.</summary>
    /// <exception cref="ArgumentException">The initial split is invalid.</exception>
    public CpuDevice(string id, CpuDeviceOptions options, HostWeightStore weights)
        : base(id, options.MemoryBudgetBytes)
    {
        Name = $"CPU ({options.Cores} cores, ONNX Runtime)";
        MakeGpulets(
            (spec, memoryBytes, hasReplicaElsewhere) => new CpuGpulet(
                $"device-{id}-g{Interlocked.Increment(ref gpuletsMade)}", spec.SmPercent, memoryBytes, options, weights, hasReplicaElsewhere),
            options.Partitions);
    }

    /// <inheritdoc />
    public override string Kind => "cpu";

    /// <inheritdoc />
    public override string Name { get; }

    /// <summary>The gpulets now, in partition order (tests).</summary>
    internal IReadOnlyList<CpuGpulet> Gpulets => [.. GpuletSet.Gpulets.Cast<CpuGpulet>()];
}
