using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.Memory;

namespace OrleansServe.Engine.Gpu;

/// <summary>Where a <see cref="DeviceModel"/>'s weights and activation workspace live on the device.</summary>
internal interface IModelMemory : IDisposable
{
    /// <summary>Changes whenever a view handed out earlier may be stale (a block moved, the workspace grew).</summary>
    long Stamp { get; }

    /// <summary>Floats of workspace now.</summary>
    long WorkspaceFloats { get; }

    /// <summary>The workspace, at its current place.</summary>
    ArrayView<float> Workspace { get; }

    /// <summary>Floats of the weights from <paramref name="offset"/>, at their current place.</summary>
    ArrayView<float> Weights(long offset, long elements);

    /// <summary>Replaces the workspace by one of <paramref name="floats"/> (contents are not kept).</summary>
    void GrowWorkspace(long floats);

    /// <summary>Keeps weights and workspace where they are while a batch runs.</summary>
    void Pin();

    /// <summary>Ends a <see cref="Pin"/>.</summary>
    void Unpin();
}

/// <summary>Buffers of the model's own, from the accelerator's allocator (a model loaded outside any gpulet).</summary>
internal sealed class OwnedModelMemory(GpuDevice device, long weightFloats) : IModelMemory
{
    private readonly MemoryBuffer1D<float, Stride1D.Dense>? weights = weightFloats > 0 ? device.Accelerator.Allocate1D<float>(weightFloats) : null;
    private MemoryBuffer1D<float, Stride1D.Dense>? workspace;

    public long Stamp { get; private set; }

    public long WorkspaceFloats => workspace?.Length ?? 0;

    public ArrayView<float> Workspace => workspace?.View ?? ArrayView<float>.Empty;

    public ArrayView<float> Weights(long offset, long elements) => weights!.View.SubView(offset, elements);

    public void GrowWorkspace(long floats)
    {
        workspace?.Dispose();
        workspace = device.Accelerator.Allocate1D<float>(floats);
        Stamp++;
    }

    public void Pin()
    {
    }

    public void Unpin()
    {
    }

    public void Dispose()
    {
        workspace?.Dispose();
        weights?.Dispose();
    }
}

/// <summary>
/// Blocks of the device's reserved memory: one for the weights (the packed layout, groups at their offsets) and one
/// for the workspace. Compaction may move either while no batch pins them; <see cref="Stamp"/> then changes and the
/// model rebinds its plans.
/// </summary>
internal sealed class ArenaModelMemory : IModelMemory
{
    private readonly ReservedDeviceMemory reserved;
    private ArenaBlock? workspace;
    private int pins;
    private long stamp;
    private int seenWeightVersion;
    private int seenWorkspaceVersion;

    private readonly TimeSpan memoryWait;

    public ArenaModelMemory(ReservedDeviceMemory reserved, long weightFloats, TimeSpan memoryWait)
    {
        this.reserved = reserved;
        this.memoryWait = memoryWait;
        WeightBlock = weightFloats > 0 ? reserved.Allocate(weightFloats * sizeof(float), memoryWait) : null;
    }

    /// <summary>The weights' block, or null for a model without weights.</summary>
    public ArenaBlock? WeightBlock { get; }

    /// <summary>The workspace's block, once a plan needed one.</summary>
    public ArenaBlock? WorkspaceBlock => workspace;

    /// <summary>The swap-in writing the weights, stopped before the blocks are freed.</summary>
    public WeightTransfer? Transfer { get; set; }

    public long Stamp
    {
        get
        {
            var weightVersion = WeightBlock?.Version ?? 0;
            var workspaceVersion = workspace?.Version ?? 0;
            if (weightVersion != seenWeightVersion || workspaceVersion != seenWorkspaceVersion)
            {
                seenWeightVersion = weightVersion;
                seenWorkspaceVersion = workspaceVersion;
                stamp++;
            }
            return stamp;
        }
    }

    public long WorkspaceFloats => (workspace?.RequestedBytes ?? 0) / sizeof(float);

    public ArrayView<float> Workspace => workspace is null ? ArrayView<float>.Empty : reserved.View(workspace, 0, WorkspaceFloats);

    public ArrayView<float> Weights(long offset, long elements) => reserved.View(WeightBlock!, offset, elements);

    public void GrowWorkspace(long floats)
    {
        if (workspace is not null)
        {
            if (pins > 0)
            {
                workspace.Unpin();
            }
            reserved.Free(workspace);
            workspace = null;
        }
        workspace = reserved.Allocate(floats * sizeof(float), memoryWait);
        seenWorkspaceVersion = workspace.Version;
        if (pins > 0)
        {
            workspace.Pin();
        }
        stamp++;
    }

    public void Pin()
    {
        WeightBlock?.Pin();
        workspace?.Pin();
        pins++;
    }

    public void Unpin()
    {
        pins--;
        if (workspace is not null)
        {
            reserved.Unpin(workspace);
        }
        if (WeightBlock is not null)
        {
            reserved.Unpin(WeightBlock);
        }
    }

    public void Dispose()
    {
        Transfer?.CancelAndWait();
        if (workspace is not null)
        {
            reserved.Free(workspace);
            workspace = null;
        }
        if (WeightBlock is not null && WeightBlock.IsLive)
        {
            reserved.Free(WeightBlock);
        }
    }
}
