namespace OrleansServe.Scheduler.Planning;

/// <summary>How a model occupies a gpulet.</summary>
internal enum MemberKind
{
    /// <summary>Alone, back to back at the half-SLO batch.</summary>
    Saturated,

    /// <summary>Resident and sharing the gpulet in time within its duty cycle.</summary>
    Residue,

    /// <summary>Not resident: swapped in over PCIe when a request comes (orleansserve).</summary>
    Swap,
}

/// <summary>A model's share of one gpulet, with its solo planned latency on that gpulet's partition.</summary>
internal sealed record Member(ModelSpec Model, MemberKind Kind, int Batch, double SoloLatencyMs, double RateRps, double SwapMs = 0);

/// <summary>A gpulet being planned; no members means free.</summary>
internal sealed class GpuletSlot(int partition, List<Member> members)
{
    public int Partition { get; } = partition;

    public List<Member> Members { get; } = members;

    public bool IsFree => Members.Count == 0;

    public GpuletSlot Clone() => new(Partition, [.. Members]);
}

/// <summary>A GPU being planned; no gpulets means unused (one free whole GPU).</summary>
internal sealed class GpuSlot(int index, List<GpuletSlot> gpulets)
{
    public int Index { get; } = index;

    public List<GpuletSlot> Gpulets { get; } = gpulets;

    public bool IsOpen => Gpulets.Any(g => !g.IsFree);

    public GpuSlot Clone() => new(Index, [.. Gpulets.Select(g => g.Clone())]);

    /// <summary>An emptied GPU becomes one whole free GPU again, so its next tenant can split it afresh.</summary>
    public void Normalise()
    {
        if (Gpulets.All(g => g.IsFree))
        {
            Gpulets.Clear();
        }
    }

    public bool Holds(string model) =>
        Gpulets.Any(g => g.Members.Any(m => m.Kind != MemberKind.Swap && m.Model.Name == model));

    /// <summary>Bytes of swap traffic per second onto this GPU, the load on its PCIe link.</summary>
    public double PcieLoad => Gpulets.SelectMany(g => g.Members)
        .Where(m => m.Kind == MemberKind.Swap)
        .Sum(m => m.RateRps * m.Model.WeightBytes);
}
