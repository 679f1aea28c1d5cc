using OrleansServe.Onnx;

namespace OrleansServe.Engine.Memory;

/// <summary>
/// A model's fp32 weights packed into pinned host memory by a <see cref="WeightLayout"/>, ready to be swapped onto a
/// device one transfer group at a time. A swap-in holds a <see cref="Lease"/> while it copies, so replacing or
/// removing the model never frees memory a copy is reading: the buffer is freed when the owner has disposed it and
/// the last lease is released.
/// </summary>
public sealed class PackedWeights : IDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, int> groupOfTensor;
    private int references = 1;
    private bool ownerDisposed;

    private PackedWeights(string owner, WeightLayout layout, PinnedHostBuffer buffer)
    {
        Owner = owner;
        Layout = layout;
        Buffer = buffer;
        groupOfTensor = layout.Tensors.ToDictionary(t => t.Name, t => t.Group, StringComparer.Ordinal);
    }

    /// <summary>The model the weights belong to.</summary>
    public string Owner { get; }

    /// <summary>Where each tensor and transfer group lies.</summary>
    public WeightLayout Layout { get; }

    /// <summary>The pinned memory holding the packed weights.</summary>
    public PinnedHostBuffer Buffer { get; }

    /// <summary>True once the buffer is freed (the owner disposed it and no lease is open).</summary>
    public bool IsFreed => Buffer.IsDisposed;

    /// <summary>
    /// Packs the weights of an optimized graph (the graph the device backend executes): every non-integer initializer
    /// that some node reads, in order of first use by <see cref="OnnxGraph.Nodes"/>.
    /// </summary>
    /// <exception cref="HostMemoryException">The budget cannot hold the packed weights.</exception>
    public static PackedWeights Pack(OnnxGraph optimizedGraph, long transferGroupBytes, PinnedMemoryBudget budget, string owner)
    {
        ArgumentNullException.ThrowIfNull(optimizedGraph);
        ArgumentNullException.ThrowIfNull(budget);
        var tensors = WeightsInFirstUseOrder(optimizedGraph);
        var layout = WeightLayout.Create([.. tensors.Select(t => (t.Name, t.Tensor.ElementCount))], transferGroupBytes);
        var buffer = budget.Allocate(owner, layout.TotalBytes);
        try
        {
            foreach (var (name, tensor) in tensors)
            {
                var floats = tensor.Floats!;
                floats.CopyTo(buffer.Floats(layout.OffsetOf(name), floats.Length));
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
        return new PackedWeights(owner, layout, buffer);
    }

    /// <summary>The floats of a transfer group, padding included.</summary>
    public ReadOnlySpan<float> Group(int index)
    {
        var group = Layout.Groups[index];
        return Buffer.Floats(group.OffsetElements, checked((int)group.LengthElements));
    }

    /// <summary>The address of a transfer group's first float, for asynchronous copies (hold a lease while they run).</summary>
    public IntPtr GroupPointer(int index)
    {
        ObjectDisposedException.ThrowIf(IsFreed, this);
        return Buffer.Pointer + checked((nint)(Layout.Groups[index].OffsetElements * sizeof(float)));
    }

    /// <summary>The floats of one tensor.</summary>
    public ReadOnlySpan<float> Tensor(string name)
    {
        if (!Layout.TryGetSlot(name, out var slot))
        {
            throw new KeyNotFoundException($"model '{Owner}' has no packed weight '{name}'");
        }
        return Buffer.Floats(slot.OffsetElements, checked((int)slot.Elements));
    }

    /// <summary>The last transfer group a node needs before it can run (the highest among its weights), or -1 when it reads none.</summary>
    public int GroupNeededBy(GraphNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var needed = -1;
        foreach (var input in node.Inputs)
        {
            if (groupOfTensor.TryGetValue(input, out var group) && group > needed)
            {
                needed = group;
            }
        }
        return needed;
    }

    /// <summary>Keeps the buffer alive until the lease is disposed.</summary>
    /// <exception cref="ObjectDisposedException">The owner already disposed the weights (use <see cref="TryLease"/> to race with replacement).</exception>
    public IDisposable Lease() =>
        TryLease(out var lease) ? lease : throw new ObjectDisposedException(nameof(PackedWeights), $"the packed weights of model '{Owner}' were replaced or removed");

    /// <summary>Takes a lease unless the owner already disposed the weights.</summary>
    public bool TryLease(out IDisposable lease)
    {
        lock (gate)
        {
            if (ownerDisposed)
            {
                lease = null!;
                return false;
            }
            references++;
        }
        lease = new WeightsLease(this);
        return true;
    }

    /// <summary>Gives up the owner's reference; the buffer is freed now or when the last lease is released.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (ownerDisposed)
            {
                return;
            }
            ownerDisposed = true;
        }
        ReleaseReference();
    }

    private void ReleaseReference()
    {
        bool free;
        lock (gate)
        {
            free = --references == 0;
        }
        if (free)
        {
            Buffer.Dispose();
        }
    }

    private static List<(string Name, HostTensor Tensor)> WeightsInFirstUseOrder(OnnxGraph graph)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tensors = new List<(string, HostTensor)>();
        foreach (var node in graph.Nodes)
        {
            foreach (var input in node.Inputs)
            {
                if (graph.Initializers.TryGetValue(input, out var tensor) && !tensor.IsInteger && seen.Add(input))
                {
                    tensors.Add((input, tensor));
                }
            }
        }
        return tensors;
    }

    private sealed class WeightsLease(PackedWeights weights) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                weights.ReleaseReference();
            }
        }
    }
}
