using OrleansServe.Onnx;

namespace OrleansServe.Engine.Memory;

/// <summary>
/// A run of consecutive weight tensors copied to the device as one transfer (FaaSwap's transfer group).
/// Groups tile the packed weights without gaps: a group spans from its first tensor's offset to the aligned end of its last.
/// </summary>
/// <param name="Index">Position in transfer order (first use order).</param>
/// <param name="OffsetElements">Offset of the group's first float in the packed weights.</param>
/// <param name="LengthElements">Floats in the group, alignment padding included.</param>
/// <param name="FirstTensor">Name of the group's first tensor.</param>
/// <param name="LastTensor">Name of the group's last tensor.</param>
/// <param name="TensorCount">Tensors in the group.</param>
public sealed record TransferGroup(int Index, long OffsetElements, long LengthElements, string FirstTensor, string LastTensor, int TensorCount)
{
    /// <summary>Bytes in the group.</summary>
    public long Bytes => LengthElements * sizeof(float);
}

/// <summary>Where one weight tensor lies in the packed weights.</summary>
/// <param name="Name">The initializer's name.</param>
/// <param name="OffsetElements">Offset of its first float, a multiple of <see cref="WeightLayout.AlignmentElements"/>.</param>
/// <param name="Elements">Its floats (without padding).</param>
/// <param name="Group">Index of the transfer group that carries it.</param>
public sealed record WeightSlot(string Name, long OffsetElements, long Elements, int Group);

/// <summary>
/// How a model's fp32 weights are packed in host memory and on the device: tensors in first-use order, each aligned
/// to <see cref="AlignmentElements"/> floats (the GPU engine's alignment), cut into transfer groups of about a target
/// size that never split a tensor, so the first layers can run while later groups are still being copied.
/// </summary>
public sealed class WeightLayout
{
    /// <summary>Every tensor starts at a multiple of this many floats.</summary>
    public const int AlignmentElements = 64;

    /// <summary>The smallest transfer group target accepted: one page.</summary>
    public const long MinTransferGroupBytes = 4096;

    private readonly Dictionary<string, WeightSlot> slots;

    private WeightLayout(IReadOnlyList<WeightSlot> tensors, IReadOnlyList<TransferGroup> groups, long totalElements, long transferGroupBytes)
    {
        Tensors = tensors;
        Groups = groups;
        TotalElements = totalElements;
        TransferGroupBytes = transferGroupBytes;
        slots = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>Every tensor, in first-use order.</summary>
    public IReadOnlyList<WeightSlot> Tensors { get; }

    /// <summary>Transfer groups, in transfer order.</summary>
    public IReadOnlyList<TransferGroup> Groups { get; }

    /// <summary>Floats of the packed weights, padding included.</summary>
    public long TotalElements { get; }

    /// <summary>Bytes of the packed weights, padding included.</summary>
    public long TotalBytes => TotalElements * sizeof(float);

    /// <summary>The target size of a transfer group this layout was cut with.</summary>
    public long TransferGroupBytes { get; }

    /// <summary>Lays out tensors given in first-use order.</summary>
    /// <param name="tensorsInFirstUseOrder">Name and float count of each tensor.</param>
    /// <param name="transferGroupBytes">Target bytes of a transfer group, at least <see cref="MinTransferGroupBytes"/>.</param>
    /// <exception cref="ArgumentException">A name repeats, a count is negative or the target is too small.</exception>
    public static WeightLayout Create(IReadOnlyList<(string Name, long Elements)> tensorsInFirstUseOrder, long transferGroupBytes)
    {
        ArgumentNullException.ThrowIfNull(tensorsInFirstUseOrder);
        ArgumentOutOfRangeException.ThrowIfLessThan(transferGroupBytes, MinTransferGroupBytes);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var tensors = new List<WeightSlot>(tensorsInFirstUseOrder.Count);
        var groups = new List<TransferGroup>();
        long offset = 0;
        var groupStart = 0;
        for (var i = 0; i < tensorsInFirstUseOrder.Count; i++)
        {
            var (name, elements) = tensorsInFirstUseOrder[i];
            ArgumentException.ThrowIfNullOrEmpty(name, nameof(tensorsInFirstUseOrder));
            if (!seen.Add(name))
            {
                throw new ArgumentException($"tensor '{name}' is listed twice", nameof(tensorsInFirstUseOrder));
            }
            if (elements < 0)
            {
                throw new ArgumentException($"tensor '{name}' has a negative element count {elements}", nameof(tensorsInFirstUseOrder));
            }
            var padded = Align(elements);
            if (tensors.Count > groupStart && (offset - tensors[groupStart].OffsetElements + padded) * sizeof(float) > transferGroupBytes)
            {
                groups.Add(CloseGroup(groups.Count, tensors, groupStart, offset));
                groupStart = tensors.Count;
            }
            tensors.Add(new WeightSlot(name, offset, elements, groups.Count));
            offset += padded;
        }
        if (tensors.Count > groupStart)
        {
            groups.Add(CloseGroup(groups.Count, tensors, groupStart, offset));
        }
        return new WeightLayout(tensors, groups, offset, transferGroupBytes);
    }

    /// <summary>Offset in floats of a tensor's first element.</summary>
    /// <exception cref="KeyNotFoundException">The layout has no such tensor.</exception>
    public long OffsetOf(string name) => Slot(name).OffsetElements;

    /// <summary>The transfer group that carries a tensor.</summary>
    /// <exception cref="KeyNotFoundException">The layout has no such tensor.</exception>
    public TransferGroup GroupOf(string name) => Groups[Slot(name).Group];

    /// <summary>Where a tensor lies, if the layout has it.</summary>
    public bool TryGetSlot(string name, out WeightSlot slot) => slots.TryGetValue(name, out slot!);

    private WeightSlot Slot(string name) =>
        slots.TryGetValue(name, out var slot) ? slot : throw new KeyNotFoundException($"the weight layout has no tensor '{name}'");

    private static TransferGroup CloseGroup(int index, List<WeightSlot> tensors, int first, long end)
    {
        var start = tensors[first].OffsetElements;
        return new TransferGroup(index, start, end - start, tensors[first].Name, tensors[^1].Name, tensors.Count - first);
    }

    private static long Align(long elements) => (elements + AlignmentElements - 1) / AlignmentElements * AlignmentElements;
}
