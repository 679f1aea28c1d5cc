using System.Collections.Concurrent;

namespace OrleansServe.Engine.Execution;

/// <summary>
/// The weights of every active model of this process, in host memory (FaaSwap/Torpor: models live on the host and
/// are swapped onto devices). Capped by a configurable byte limit; over the cap a model is refused, not half-loaded.
/// </summary>
public sealed class HostWeightStore(long capacityBytes)
{
    private readonly ConcurrentDictionary<string, byte[]> weights = new(StringComparer.Ordinal);
    private long usedBytes;

    /// <summary>Bytes the store may hold.</summary>
    public long CapacityBytes { get; } = capacityBytes;

    /// <summary>Bytes held now.</summary>
    public long UsedBytes => Interlocked.Read(ref usedBytes);

    /// <summary>Models held now.</summary>
    public int Count => weights.Count;

    /// <summary>Adds or replaces a model's weights; throws <see cref="DeviceMemoryException"/> over the cap.</summary>
    public void Put(string model, byte[] bytes)
    {
        Remove(model);
        var after = Interlocked.Add(ref usedBytes, bytes.LongLength);
        if (after > CapacityBytes)
        {
            Interlocked.Add(ref usedBytes, -bytes.LongLength);
            throw new DeviceMemoryException(
                $"model '{model}' needs {bytes.LongLength} bytes of host memory; {CapacityBytes - (after - bytes.LongLength)} of the {CapacityBytes} configured remain");
        }
        weights[model] = bytes;
    }

    /// <summary>The model's weights, if this process holds them.</summary>
    public bool TryGet(string model, out byte[] bytes) => weights.TryGetValue(model, out bytes!);

    /// <summary>Drops a model's weights.</summary>
    public void Remove(string model)
    {
        if (weights.TryRemove(model, out var old))
        {
            Interlocked.Add(ref usedBytes, -old.LongLength);
        }
    }
}
