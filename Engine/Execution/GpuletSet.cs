namespace OrleansServe.Engine.Execution;

/// <summary>
/// The gpulets a device is split into, and the routing of batches to them. A batch goes to the gpulet the plan binds
/// its model to; a model bound to none goes where it is resident, else to the least loaded gpulet (late binding).
/// Repartitioning swaps in the new gpulets at once and retires the old ones only after their batches in flight
/// finish, so no request is lost.
/// </summary>
public sealed class GpuletSet : IDisposable
{
    private sealed class Slot(int index, PartitionSpec spec, long memoryBytes, IGpulet gpulet)
    {
        public int Index { get; } = index;
        public PartitionSpec Spec { get; } = spec;
        public long MemoryBytes { get; } = memoryBytes;
        public IGpulet Gpulet { get; } = gpulet;
        public HashSet<string> Bound { get; } = new(spec.Models, StringComparer.Ordinal);
        public int InFlight { get; set; }
        public bool Retired { get; set; }
        public TaskCompletionSource Drained { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Lock gate = new();
    private readonly SemaphoreSlim repartitioning = new(1, 1);
    private readonly Func<PartitionSpec, long, IGpulet> create;
    private volatile Slot[] slots;
    private long retiredSwapIns;
    private long retiredEvictions;
    private bool disposed;

    /// <summary>Creates the initial gpulets (the whole device as one when <paramref name="initial"/> is null).</summary>
    /// <param name="memoryBudgetBytes">Device memory the gpulets share out.</param>
    /// <param name="create">Makes a gpulet for a spec with its memory share in bytes.</param>
    /// <param name="initial">The first split.</param>
    /// <exception cref="ArgumentException">The split is invalid (see <see cref="Validate"/>).</exception>
    public GpuletSet(long memoryBudgetBytes, Func<PartitionSpec, long, IGpulet> create, IReadOnlyList<PartitionSpec>? initial = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(memoryBudgetBytes);
        MemoryBudgetBytes = memoryBudgetBytes;
        this.create = create;
        slots = Build(initial ?? PartitionSpec.WholeDevice);
    }

    /// <summary>Device memory the gpulets share out.</summary>
    public long MemoryBudgetBytes { get; }

    /// <summary>The current split.</summary>
    public IReadOnlyList<PartitionSpec> Partitions => [.. slots.Select(s => s.Spec)];

    /// <summary>
    /// Checks a split and gives each gpulet its memory share: explicit shares as given, the rest of the budget to the
    /// gpulets without one in proportion to their compute shares.
    /// </summary>
    /// <exception cref="ArgumentException">No gpulets, a share outside 1..100, shares summing over 100, a negative or
    /// over-budget memory share, or an empty model name.</exception>
    public static long[] Validate(IReadOnlyList<PartitionSpec> partitions, long memoryBudgetBytes)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        if (partitions.Count == 0)
        {
            throw new ArgumentException("a device needs at least one gpulet", nameof(partitions));
        }
        var shares = 0;
        long explicitMemory = 0;
        var unsized = 0;
        foreach (var spec in partitions)
        {
            if (spec is null || spec.SmPercent is < 1 or > 100)
            {
                throw new ArgumentException($"a gpulet's compute share must be 1..100%, not {spec?.SmPercent}", nameof(partitions));
            }
            if (spec.MemoryBytes < 0)
            {
                throw new ArgumentException($"a gpulet's memory share cannot be negative ({spec.MemoryBytes})", nameof(partitions));
            }
            if (spec.Models is null || spec.Models.Any(string.IsNullOrWhiteSpace))
            {
                throw new ArgumentException("a gpulet's model list cannot hold an empty name", nameof(partitions));
            }
            shares += spec.SmPercent;
            explicitMemory += spec.MemoryBytes;
            unsized += spec.MemoryBytes == 0 ? spec.SmPercent : 0;
        }
        if (shares > 100)
        {
            throw new ArgumentException($"gpulet compute shares sum to {shares}%, over the device's 100%", nameof(partitions));
        }
        if (explicitMemory > memoryBudgetBytes || (unsized > 0 && explicitMemory == memoryBudgetBytes))
        {
            throw new ArgumentException(
                $"gpulet memory shares ({explicitMemory} bytes given) leave no room within the device budget of {memoryBudgetBytes} bytes", nameof(partitions));
        }
        var rest = memoryBudgetBytes - explicitMemory;
        return [.. partitions.Select(p => p.MemoryBytes > 0 ? p.MemoryBytes : (long)((double)rest * p.SmPercent / unsized))];
    }

    /// <summary>Swaps a model in on the gpulet its batches would go to.</summary>
    public async Task EnsureResidentAsync(string model)
    {
        var slot = Acquire(model);
        try
        {
            await slot.Gpulet.EnsureResidentAsync(model).ConfigureAwait(false);
        }
        finally
        {
            Release(slot);
        }
    }

    /// <summary>Runs one batch on the gpulet the model is routed to.</summary>
    public async Task<DeviceRunResult> RunAsync(string model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs)
    {
        var slot = Acquire(model);
        try
        {
            return await slot.Gpulet.RunAsync(model, inputs, outputs).ConfigureAwait(false);
        }
        finally
        {
            Release(slot);
        }
    }

    /// <summary>Evicts a model from every gpulet where it is resident and unpinned; true when any copy went.</summary>
    public bool Evict(string model)
    {
        var evicted = false;
        foreach (var slot in slots)
        {
            evicted |= slot.Gpulet.Evict(model);
        }
        return evicted;
    }

    /// <summary>How many gpulets hold the model now (Torpor's rule keeps one when memory is tight).</summary>
    public int ReplicasOf(string model) => slots.Count(s => s.Gpulet.IsResident(model));

    /// <summary>
    /// True when a gpulet of this device other than <paramref name="self"/> holds the model now: what
    /// <see cref="EvictionPolicy.Torpor"/> asks while <paramref name="self"/> picks victims. Takes no lock (the
    /// split is read once and residency is lock-free), so a gpulet may ask from inside its own residency lock.
    /// </summary>
    public bool HasReplicaElsewhere(string model, IGpulet self)
    {
        // Null only while the first gpulets are being made, before any of them can evict.
        var current = slots;
        return current is not null && current.Any(s => !ReferenceEquals(s.Gpulet, self) && s.Gpulet.IsResident(model));
    }

    /// <summary>The gpulets now, in partition order (tests).</summary>
    internal IReadOnlyList<IGpulet> Gpulets => [.. slots.Select(s => s.Gpulet)];

    /// <summary>Residency summed over the gpulets, with each gpulet's own.</summary>
    public ResidencySnapshot Snapshot()
    {
        var current = slots;
        var gpulets = current.Select(s => new GpuletSnapshot(s.Index, s.Spec.SmPercent, s.Spec.Models, s.Gpulet.Snapshot())).ToList();
        int inFlight;
        lock (gate)
        {
            inFlight = current.Sum(s => s.InFlight);
        }
        return new ResidencySnapshot(
            gpulets.Sum(g => g.Residency.BudgetBytes),
            gpulets.Sum(g => g.Residency.UsedBytes),
            [.. gpulets.SelectMany(g => g.Residency.Resident)],
            Interlocked.Read(ref retiredSwapIns) + gpulets.Sum(g => g.Residency.SwapIns),
            Interlocked.Read(ref retiredEvictions) + gpulets.Sum(g => g.Residency.Evictions),
            inFlight)
        {
            Gpulets = gpulets,
        };
    }

    /// <summary>
    /// Splits the device anew. New batches go to the new gpulets at once; the old ones evict what no batch pins,
    /// finish their batches in flight, and are then disposed. Repartitions run one at a time.
    /// </summary>
    /// <exception cref="ArgumentException">The split is invalid; nothing changes.</exception>
    public async Task RepartitionAsync(IReadOnlyList<PartitionSpec> partitions)
    {
        Validate(partitions, MemoryBudgetBytes);
        await repartitioning.WaitAsync().ConfigureAwait(false);
        try
        {
            var fresh = Build(partitions);
            Slot[] old;
            lock (gate)
            {
                if (disposed)
                {
                    Dispose(fresh);
                    throw new ObjectDisposedException(nameof(GpuletSet));
                }
                old = slots;
                slots = fresh;
                foreach (var slot in old)
                {
                    slot.Retired = true;
                    if (slot.InFlight == 0)
                    {
                        slot.Drained.TrySetResult();
                    }
                }
            }
            foreach (var slot in old)
            {
                // Free memory for the new gpulets now; pinned models go when their batches finish.
                foreach (var resident in slot.Gpulet.Snapshot().Resident)
                {
                    slot.Gpulet.Evict(resident.Model);
                }
            }
            await Task.WhenAll(old.Select(s => s.Drained.Task)).ConfigureAwait(false);
            foreach (var slot in old)
            {
                var last = slot.Gpulet.Snapshot();
                Interlocked.Add(ref retiredSwapIns, last.SwapIns);
                Interlocked.Add(ref retiredEvictions, last.Evictions + last.Resident.Count);
                slot.Gpulet.Dispose();
            }
        }
        finally
        {
            repartitioning.Release();
        }
    }

    /// <summary>Disposes every gpulet.</summary>
    public void Dispose()
    {
        Slot[] current;
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            current = slots;
        }
        Dispose(current);
    }

    private Slot[] Build(IReadOnlyList<PartitionSpec> partitions)
    {
        var memory = Validate(partitions, MemoryBudgetBytes);
        var built = new List<Slot>(partitions.Count);
        try
        {
            for (var i = 0; i < partitions.Count; i++)
            {
                built.Add(new Slot(i, partitions[i], memory[i], create(partitions[i], memory[i])));
            }
        }
        catch
        {
            Dispose([.. built]);
            throw;
        }
        return [.. built];
    }

    /// <summary>
    /// The gpulet for a batch, counted in flight there. Residency is read outside the lock (it is lock-free, but
    /// may change meanwhile); the choice is confirmed under it, and retried if a repartition retired it meanwhile.
    /// </summary>
    private Slot Acquire(string model)
    {
        while (true)
        {
            var current = slots;
            // Gpulets whose memory share cannot hold the model are left out, unless none can (its refusal then says why).
            var fitting = current.Where(s => s.Gpulet.CanHold(model)).ToList();
            var eligible = fitting.Count > 0 ? fitting : [.. current];
            var bound = eligible.Where(s => s.Bound.Contains(model)).ToList();
            var candidates = bound.Count > 0 ? bound : eligible.Where(s => s.Gpulet.IsResident(model)).ToList();
            if (candidates.Count == 0)
            {
                candidates = eligible;
            }
            lock (gate)
            {
                ObjectDisposedException.ThrowIf(disposed, this);
                if (!ReferenceEquals(current, slots))
                {
                    continue;
                }
                var best = candidates.OrderBy(s => s.InFlight).ThenByDescending(s => s.Spec.SmPercent).ThenBy(s => s.Index).First();
                best.InFlight++;
                return best;
            }
        }
    }

    private void Release(Slot slot)
    {
        bool drained;
        lock (gate)
        {
            slot.InFlight--;
            drained = slot.Retired && slot.InFlight == 0;
        }
        if (drained)
        {
            slot.Drained.TrySetResult();
        }
    }

    private static void Dispose(Slot[] gone)
    {
        foreach (var slot in gone)
        {
            slot.Gpulet.Dispose();
        }
    }
}
