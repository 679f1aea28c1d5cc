namespace OrleansServe.Engine.Memory;

/// <summary>
/// The cap on pinned host memory for model weights (configured by OrleansServe:PinnedMemoryBytes). Every pinned
/// buffer of the process comes from here; disposing a buffer returns its bytes. Thread-safe.
/// </summary>
/// <param name="capacityBytes">Bytes the process may pin.</param>
/// <param name="registrar">Driver registration for every buffer, or null for none.</param>
/// <param name="lockPages">Whether buffers try mlock.</param>
public sealed class PinnedMemoryBudget(long capacityBytes, IHostMemoryRegistrar? registrar = null, bool lockPages = true)
{
    private readonly Lock gate = new();
    private long usedBytes;

    /// <summary>Bytes that may be pinned.</summary>
    public long CapacityBytes { get; } = capacityBytes >= 0 ? capacityBytes : throw new ArgumentOutOfRangeException(nameof(capacityBytes));

    /// <summary>Bytes held by live buffers.</summary>
    public long UsedBytes
    {
        get
        {
            lock (gate)
            {
                return usedBytes;
            }
        }
    }

    /// <summary>Allocates a pinned buffer for <paramref name="owner"/>.</summary>
    /// <exception cref="HostMemoryException">The buffer would pass the cap.</exception>
    public PinnedHostBuffer Allocate(string owner, long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        lock (gate)
        {
            if (usedBytes + bytes > CapacityBytes)
            {
                throw new HostMemoryException(
                    $"model '{owner}' needs {bytes} bytes of pinned host memory; {CapacityBytes - usedBytes} of the {CapacityBytes} configured by OrleansServe:PinnedMemoryBytes remain");
            }
            usedBytes += bytes;
        }
        try
        {
            return new PinnedHostBuffer(bytes, registrar, lockPages, Return);
        }
        catch
        {
            Release(bytes);
            throw;
        }
    }

    private void Return(PinnedHostBuffer buffer) => Release(buffer.Length);

    private void Release(long bytes)
    {
        lock (gate)
        {
            usedBytes -= bytes;
        }
    }
}
