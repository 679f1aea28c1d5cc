namespace OrleansServe.Engine.Execution;

/// <summary>
/// What every gpulet shares, whatever runs its batches: a compute share, a memory share kept by its own residency
/// table, a count of batches in flight, and the cycle of a batch (acquire the model, swapping it in if need be; run
/// the batch on the gpulet's device threads; release the model). A backend says how a model is swapped in and how a
/// batch runs.
/// </summary>
/// <typeparam name="TResident">What residency holds for a model on this backend (an ONNX Runtime session, a device model).</typeparam>
public abstract class Gpulet<TResident> : IGpulet
    where TResident : class, IDisposable
{
    private int inFlight;

    /// <param name="smPercent">Compute share in percent, 1 to 100.</param>
    /// <param name="memoryBudgetBytes">Bytes of resident models this gpulet may hold.</param>
    /// <param name="residency">The residency settings; <see cref="ResidencyOptions.HasReplicaElsewhere"/> is set from <paramref name="hasReplicaElsewhere"/>.</param>
    /// <param name="hasReplicaElsewhere">
    /// Whether a model is resident on another gpulet of the device, given this gpulet (usually
    /// <see cref="GpuletSet.HasReplicaElsewhere"/>); called under this gpulet's residency lock, so it must take no
    /// lock. Null: never (a gpulet alone).
    /// </param>
    protected Gpulet(int smPercent, long memoryBudgetBytes, ResidencyOptions residency, Func<string, IGpulet, bool>? hasReplicaElsewhere)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(smPercent, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(smPercent, 100);
        ArgumentOutOfRangeException.ThrowIfNegative(memoryBudgetBytes);
        SmPercent = smPercent;
        MemoryBudgetBytes = memoryBudgetBytes;
        Residency = new ResidencyTable<TResident>(residency with
        {
            HasReplicaElsewhere = hasReplicaElsewhere is null ? null : model => hasReplicaElsewhere(model, this),
        });
    }

    /// <inheritdoc />
    public int SmPercent { get; }

    /// <inheritdoc />
    public long MemoryBudgetBytes { get; }

    /// <summary>The models resident here.</summary>
    protected ResidencyTable<TResident> Residency { get; }

    /// <inheritdoc />
    public async Task EnsureResidentAsync(string model)
    {
        await AcquireAsync(model).ConfigureAwait(false);
        Residency.Release(model);
    }

    /// <inheritdoc />
    public async Task<DeviceRunResult> RunAsync(string model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs)
    {
        var (resident, swappedIn) = await AcquireAsync(model).ConfigureAwait(false);
        Interlocked.Increment(ref inFlight);
        var discard = false;
        try
        {
            var result = await ExecuteAsync(resident, inputs, outputs).ConfigureAwait(false);
            return result with { SwappedIn = swappedIn };
        }
        catch (Exception e) when (Discards(e))
        {
            discard = true;
            throw;
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
            Residency.Release(model);
            if (discard)
            {
                // This copy of the model is unusable: the next request swaps it in afresh (the last batch out evicts it).
                Residency.TryEvict(model, resident);
            }
        }
    }

    /// <inheritdoc />
    public bool Evict(string model) => Residency.TryEvict(model);

    /// <inheritdoc />
    public bool IsResident(string model) => Residency.Contains(model);

    /// <inheritdoc />
    public abstract bool CanHold(string model);

    /// <inheritdoc />
    public ResidencySnapshot Snapshot() => Residency.Snapshot(Volatile.Read(ref inFlight));

    /// <summary>Pins the model here, swapping it in first when it is not resident; says whether this call swapped it in.</summary>
    protected abstract Task<(TResident Resident, bool SwappedIn)> AcquireAsync(string model);

    /// <summary>Runs one batch on the gpulet's device threads.</summary>
    protected abstract Task<DeviceRunResult> ExecuteAsync(TResident resident, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs);

    /// <summary>Whether a batch failing so means the model's copy here is unusable and must leave; none by default.</summary>
    protected virtual bool Discards(Exception failure) => false;

    /// <inheritdoc />
    public abstract void Dispose();
}
