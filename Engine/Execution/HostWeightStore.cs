using OrleansServe.Engine.Memory;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Execution;

/// <summary>How a <see cref="HostWeightStore"/> holds models.</summary>
/// <param name="CapacityBytes">Bytes of ONNX files the store may hold.</param>
public sealed record HostWeightStoreOptions(long CapacityBytes)
{
    /// <summary>Bytes of packed weights in pinned host memory (OrleansServe:PinnedMemoryBytes); set it when packing, zero refuses every model.</summary>
    public long PinnedCapacityBytes { get; init; }

    /// <summary>Target size of a transfer group of the packed weights.</summary>
    public long TransferGroupBytes { get; init; } = 2L << 20;

    /// <summary>
    /// When set, <see cref="HostWeightStore.Put"/> also packs each model's weights for swap-in onto the devices of this
    /// backend: the graph it gives back (the one the devices execute, e.g. with fused nodes) decides which tensors are
    /// packed and in what order; a <see cref="ModelPlanException"/> from it says why those devices cannot run the model.
    /// </summary>
    public Func<OnnxGraph, OnnxGraph>? PrepareForDevices { get; init; }

    /// <summary>Whether pinned buffers try mlock.</summary>
    public bool LockPages { get; init; } = true;

    /// <summary>Registers pinned buffers with the device driver, or null for none.</summary>
    public IHostMemoryRegistrar? Registrar { get; init; }
}

/// <summary>
/// The weights of every active model of this process, in host memory (FaaSwap/Torpor: models live on the host and
/// are swapped onto devices). Capped by a configurable byte limit; over the cap a model is refused, not half-loaded.
/// With <see cref="HostWeightStoreOptions.PrepareForDevices"/> each model's weights are also packed into pinned memory
/// in transfer groups, ready for pipelined swap-in onto a GPU.
/// </summary>
public sealed class HostWeightStore
{
    private sealed record Entry(byte[] Onnx, PackedWeights? Packed, string? PackingFailure);

    private readonly Lock gate = new();
    private readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly HostWeightStoreOptions options;
    private readonly PinnedMemoryBudget pinned;
    private long usedBytes;

    /// <summary>A store of ONNX files only, capped at <paramref name="capacityBytes"/>.</summary>
    public HostWeightStore(long capacityBytes)
        : this(new HostWeightStoreOptions(capacityBytes))
    {
    }

    /// <summary>A store with the given caps, packing weights for devices when asked.</summary>
    public HostWeightStore(HostWeightStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        pinned = new PinnedMemoryBudget(options.PinnedCapacityBytes, options.Registrar, options.LockPages);
    }

    /// <summary>Bytes the store may hold.</summary>
    public long CapacityBytes => options.CapacityBytes;

    /// <summary>Bytes held now.</summary>
    public long UsedBytes => Interlocked.Read(ref usedBytes);

    /// <summary>Bytes of pinned memory the packed weights may hold.</summary>
    public long PinnedCapacityBytes => pinned.CapacityBytes;

    /// <summary>Bytes of pinned memory held now, leased buffers of replaced models included.</summary>
    public long PinnedUsedBytes => pinned.UsedBytes;

    /// <summary>Models held now.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return entries.Count;
            }
        }
    }

    /// <summary>
    /// Adds or replaces a model's weights (a replacement first drops the old ones so their memory is available).
    /// With packing on, a model the GPU engine cannot read or plan is still stored for the CPU device and
    /// <see cref="PackingFailure"/> says why.
    /// </summary>
    /// <exception cref="DeviceMemoryException">The host memory cap is reached; nothing is stored.</exception>
    /// <exception cref="HostMemoryException">The pinned memory cap is reached; nothing is stored.</exception>
    public void Put(string model, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Remove(model);
        var after = Interlocked.Add(ref usedBytes, bytes.LongLength);
        if (after > CapacityBytes)
        {
            Interlocked.Add(ref usedBytes, -bytes.LongLength);
            throw new DeviceMemoryException(
                $"model '{model}' needs {bytes.LongLength} bytes of host memory; {CapacityBytes - (after - bytes.LongLength)} of the {CapacityBytes} configured remain");
        }
        PackedWeights? packed = null;
        string? failure = null;
        try
        {
            if (options.PrepareForDevices is not null)
            {
                (packed, failure) = TryPack(model, bytes);
            }
        }
        catch
        {
            Interlocked.Add(ref usedBytes, -bytes.LongLength);
            throw;
        }
        Entry? replaced;
        lock (gate)
        {
            entries.TryGetValue(model, out replaced);
            entries[model] = new Entry(bytes, packed, failure);
        }
        Release(replaced);
    }

    /// <summary>The model's weights, if this process holds them.</summary>
    public bool TryGet(string model, out byte[] bytes)
    {
        lock (gate)
        {
            var found = entries.TryGetValue(model, out var entry);
            bytes = entry?.Onnx!;
            return found;
        }
    }

    /// <summary>The model's packed weights, if it was packed. Take a lease (or use <see cref="TryLeasePacked"/>) before reading them off the caller's thread.</summary>
    public bool TryGetPacked(string model, out PackedWeights packed)
    {
        lock (gate)
        {
            packed = entries.TryGetValue(model, out var entry) ? entry.Packed! : null!;
            return packed is not null;
        }
    }

    /// <summary>The model's packed weights with a lease taken atomically, so a concurrent replacement cannot free them first.</summary>
    public bool TryLeasePacked(string model, out PackedWeights packed, out IDisposable lease)
    {
        lock (gate)
        {
            if (entries.TryGetValue(model, out var entry) && entry.Packed is { } weights && weights.TryLease(out lease))
            {
                packed = weights;
                return true;
            }
        }
        packed = null!;
        lease = null!;
        return false;
    }

    /// <summary>Why the model's weights were not packed for devices (the GPU engine cannot read or plan it), or null.</summary>
    public string? PackingFailure(string model)
    {
        lock (gate)
        {
            return entries.TryGetValue(model, out var entry) ? entry.PackingFailure : null;
        }
    }

    /// <summary>Drops a model's weights; packed weights under a lease are freed when it is released.</summary>
    public void Remove(string model)
    {
        Entry? old;
        lock (gate)
        {
            entries.Remove(model, out old);
        }
        Release(old);
    }

    private (PackedWeights? Packed, string? Failure) TryPack(string model, byte[] bytes)
    {
        OnnxGraph graph;
        try
        {
            graph = options.PrepareForDevices!(OnnxGraph.Read(bytes));
        }
        catch (ModelPlanException e)
        {
            return (null, e.Message);
        }
        return (PackedWeights.Pack(graph, options.TransferGroupBytes, pinned, model), null);
    }

    private void Release(Entry? entry)
    {
        if (entry is not null)
        {
            Interlocked.Add(ref usedBytes, -entry.Onnx.LongLength);
            entry.Packed?.Dispose();
        }
    }
}
