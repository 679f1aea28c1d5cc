using System.Collections.Concurrent;

namespace OrleansServe.Engine.Execution;

/// <summary>Which resident models a device evicts first when it needs room.</summary>
public enum EvictionPolicy
{
    /// <summary>Least recently used first.</summary>
    Lru,

    /// <summary>
    /// Torpor's order: models that have a replica on another device first (so memory that is tight keeps one copy
    /// of each model), then light models least recently used first, then heavy ones least recently used first.
    /// </summary>
    Torpor,
}

/// <summary>How a <see cref="ResidencyTable{TResident}"/> admits and evicts models.</summary>
/// <param name="BudgetBytes">Bytes of resident models.</param>
public sealed record ResidencyOptions(long BudgetBytes)
{
    /// <summary>How long a swap-in waits for pinned models to be released before it is refused.</summary>
    public TimeSpan MemoryWait { get; init; } = TimeSpan.Zero;

    /// <summary>Which models go first.</summary>
    public EvictionPolicy Policy { get; init; } = EvictionPolicy.Lru;

    /// <summary>The default of <see cref="LightModelBytes"/>: 64 MiB.</summary>
    public const long DefaultLightModelBytes = 64L << 20;

    /// <summary>Models of at most this many bytes are light (cheap to swap back in) under <see cref="EvictionPolicy.Torpor"/>.</summary>
    public long LightModelBytes { get; init; } = DefaultLightModelBytes;

    /// <summary>
    /// True when a model is also resident on another device (<see cref="EvictionPolicy.Torpor"/> evicts those first).
    /// Called under the table's lock: it must be quick and must not take a lock another table may hold while calling
    /// it. Any table's <see cref="ResidencyTable{TResident}.Contains"/> is safe to call (it takes no lock).
    /// </summary>
    public Func<string, bool>? HasReplicaElsewhere { get; init; }

    /// <summary>Clock for the memory wait; the system clock when null.</summary>
    public TimeProvider? Time { get; init; }
}

/// <summary>
/// Which models are resident on a device, within a byte budget. Models are evicted to make room in the order of the
/// <see cref="EvictionPolicy"/>; a model pinned by a batch in flight (or by its own swap-in) is never evicted, and
/// eviction copies nothing back (the weights stay in host memory). Concurrent requests for a model that is being
/// swapped in share that swap-in rather than starting another. Swap-ins that must wait for room take turns in
/// arrival order, and new batches of the models the first of them will evict wait behind it, so a busy model cannot
/// keep its pins forever and starve the others.
/// </summary>
/// <typeparam name="TResident">What residency holds (an ONNX Runtime session on the CPU device).</typeparam>
public sealed class ResidencyTable<TResident> where TResident : class, IDisposable
{
    private sealed class Entry(string model, long bytes, Task<TResident> loading)
    {
        public string Model { get; } = model;
        public long Bytes { get; } = bytes;
        public Task<TResident> Loading { get; } = loading;
        public int Pins { get; set; }
        public LinkedListNode<Entry>? Node { get; set; }
    }

    /// <summary>A swap-in waiting for room (a class: two waiting for the same model are two places in the queue).</summary>
    private sealed class Waiter(string model, long bytes)
    {
        public string Model { get; } = model;
        public long Bytes { get; } = bytes;
    }

    private readonly Lock gate = new();
    private readonly Dictionary<string, Entry> entries = new(StringComparer.Ordinal);
    // The keys of entries, written under the lock and read without it: other tables ask about residency from inside
    // their own locks, and waiting on this one there could deadlock two tables asking about each other.
    private readonly ConcurrentDictionary<string, byte> residentNames = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> recency = new();
    private long usedBytes;
    private long swapIns;
    private long evictions;
    private TaskCompletionSource? roomFreed;
    // Swap-ins waiting for room, oldest first: only the oldest may swap in, and it holds back the models it will evict.
    private readonly List<Waiter> waiting = [];
    private readonly ResidencyOptions options;
    private readonly TimeSpan memoryWait;
    private readonly TimeProvider time;

    /// <summary>A table that evicts least recently used models first.</summary>
    /// <param name="budgetBytes">Bytes of resident models.</param>
    /// <param name="memoryWait">How long a swap-in waits for pinned models to be released before it is refused.</param>
    /// <param name="time">Clock for that wait.</param>
    public ResidencyTable(long budgetBytes, TimeSpan memoryWait, TimeProvider? time = null)
        : this(new ResidencyOptions(budgetBytes) { MemoryWait = memoryWait, Time = time })
    {
    }

    /// <summary>A table with the given budget and eviction policy.</summary>
    public ResidencyTable(ResidencyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        this.options = options;
        memoryWait = options.MemoryWait;
        time = options.Time ?? TimeProvider.System;
        BudgetBytes = options.BudgetBytes;
    }

    /// <summary>The byte budget.</summary>
    public long BudgetBytes { get; }

    /// <summary>Which models go first when room is needed.</summary>
    public EvictionPolicy Policy => options.Policy;

    /// <summary>
    /// Pins a model and returns its resident object, swapping it in with <paramref name="swapIn"/> when absent.
    /// When every resident model is pinned, waits up to the memory wait for a batch to finish before refusing; while
    /// it waits, later swap-ins queue behind it and new batches of the models it will evict wait for it to be admitted.
    /// Call <see cref="Release"/> once per successful acquire. Throws <see cref="DeviceMemoryException"/> when no room can be made.
    /// </summary>
    public async Task<(TResident Resident, bool SwappedIn)> AcquireAsync(string model, long bytes, Func<Task<TResident>> swapIn)
    {
        var deadline = time.GetTimestamp();
        Waiter? queued = null;
        try
        {
            while (true)
            {
                Task roomFreed = Task.CompletedTask;
                bool admitted;
                Entry entry;
                bool swappedIn;
                List<Entry> victims;
                lock (gate)
                {
                    admitted = TryAdmitLocked(model, bytes, swapIn, queued, out entry, out swappedIn, out victims, out var behind);
                    if (admitted)
                    {
                        entry.Pins++;
                        if (queued is not null)
                        {
                            LeaveQueueLocked(queued);
                            queued = null;
                        }
                    }
                    else
                    {
                        var remaining = memoryWait - time.GetElapsedTime(deadline);
                        if (remaining <= TimeSpan.Zero)
                        {
                            throw new DeviceMemoryException(behind is null
                                ? $"model '{model}' needs {bytes} bytes; {BudgetBytes - usedBytes} are free and every other resident model has a batch in flight"
                                : $"model '{model}' waited its turn behind the swap-in of '{behind}', which is still waiting for memory held by batches in flight");
                        }
                        if (queued is null && !entries.ContainsKey(model))
                        {
                            queued = new Waiter(model, bytes);
                            waiting.Add(queued);
                        }
                        roomFreed = (this.roomFreed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                    }
                }
                if (admitted)
                {
                    foreach (var victim in victims)
                    {
                        DisposeWhenLoaded(victim);
                    }
                    return await AwaitLoadAsync(model, entry, swappedIn).ConfigureAwait(false);
                }
                try
                {
                    // Clamped: the deadline may have passed since the check under the lock.
                    var wait = memoryWait - time.GetElapsedTime(deadline);
                    await roomFreed.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, time).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    // Checked again above: the next pass refuses with the reason.
                }
            }
        }
        finally
        {
            if (queued is not null)
            {
                lock (gate)
                {
                    LeaveQueueLocked(queued);
                }
            }
        }
    }

    /// <summary>
    /// Admits the model when it is resident and not held back, or swaps it in when there is room (evicting what
    /// the policy picks). While swap-ins wait for room, only the oldest of them (<paramref name="self"/>) may swap
    /// in, and a resident model it will evict is held back; <paramref name="behind"/> then names it.
    /// </summary>
    private bool TryAdmitLocked(
        string model, long bytes, Func<Task<TResident>> swapIn, Waiter? self, out Entry entry, out bool swappedIn, out List<Entry> victims, out string? behind)
    {
        victims = [];
        swappedIn = false;
        behind = null;
        var oldest = waiting.Count > 0 && !ReferenceEquals(waiting[0], self) ? waiting[0] : null;
        if (entries.TryGetValue(model, out entry!))
        {
            if (oldest is not null && HeldForLocked(oldest).Contains(entry))
            {
                behind = oldest.Model;
                return false;
            }
            recency.Remove(entry.Node!);
            recency.AddFirst(entry.Node!);
            return true;
        }
        if (bytes > BudgetBytes)
        {
            throw new DeviceMemoryException($"model '{model}' needs {bytes} bytes; the device budget is {BudgetBytes}");
        }
        if (oldest is not null)
        {
            // Swap-ins that had to wait go in arrival order: a later one taking the room would starve the first.
            behind = oldest.Model;
            return false;
        }
        long freed = 0;
        foreach (var candidate in EvictionOrderLocked(includePinned: false))
        {
            if (usedBytes - freed + bytes <= BudgetBytes)
            {
                break;
            }
            victims.Add(candidate);
            freed += candidate.Bytes;
        }
        if (usedBytes - freed + bytes > BudgetBytes)
        {
            // Evict nothing rather than evict for nothing: the swap-in waits or is refused.
            victims.Clear();
            return false;
        }
        foreach (var victim in victims)
        {
            RemoveLocked(victim);
        }
        entry = new Entry(model, bytes, StartSwapIn(swapIn));
        AddLocked(entry, atHead: true);
        swapIns++;
        swappedIn = true;
        return true;
    }

    /// <summary>
    /// The resident models a waiting swap-in will evict once their batches finish: the first in the policy's order,
    /// pinned or not, that make its room (none when its model is resident by now).
    /// </summary>
    private HashSet<Entry> HeldForLocked(Waiter waiter)
    {
        var held = new HashSet<Entry>(ReferenceEqualityComparer.Instance);
        if (entries.ContainsKey(waiter.Model))
        {
            return held;
        }
        long freed = 0;
        foreach (var candidate in EvictionOrderLocked(includePinned: true))
        {
            if (usedBytes - freed + waiter.Bytes <= BudgetBytes)
            {
                break;
            }
            held.Add(candidate);
            freed += candidate.Bytes;
        }
        return held;
    }

    /// <summary>A waiting swap-in was admitted or gave up: the next one (and the batches it held back) may go.</summary>
    private void LeaveQueueLocked(Waiter waiter)
    {
        if (waiting.Remove(waiter))
        {
            SignalRoomLocked();
        }
    }

    /// <summary>Resident models (unpinned only, unless <paramref name="includePinned"/>) in the order the policy evicts them.</summary>
    private IEnumerable<Entry> EvictionOrderLocked(bool includePinned)
    {
        var leastRecentFirst = LeastRecentlyUsedFirst().Where(e => includePinned || e.Pins == 0);
        if (options.Policy == EvictionPolicy.Lru)
        {
            return leastRecentFirst;
        }
        var replicated = options.HasReplicaElsewhere;
        return leastRecentFirst
            .Select((entry, age) => (Entry: entry, Rank: replicated?.Invoke(entry.Model) == true ? 0 : entry.Bytes <= options.LightModelBytes ? 1 : 2, Age: age))
            .OrderBy(c => c.Rank)
            .ThenBy(c => c.Age)
            .Select(c => c.Entry)
            .ToList();
    }

    private IEnumerable<Entry> LeastRecentlyUsedFirst()
    {
        for (var node = recency.Last; node is not null; node = node.Previous)
        {
            yield return node.Value;
        }
    }

    private async Task<(TResident Resident, bool SwappedIn)> AwaitLoadAsync(string model, Entry entry, bool swappedIn)
    {
        try
        {
            return (await entry.Loading.ConfigureAwait(false), swappedIn);
        }
        catch
        {
            lock (gate)
            {
                entry.Pins--;
                if (entries.TryGetValue(model, out var current) && ReferenceEquals(current, entry))
                {
                    RemoveLocked(entry);
                    evictions--;
                }
                SignalRoomLocked();
            }
            throw;
        }
    }

    /// <summary>Unpins a model acquired earlier.</summary>
    public void Release(string model)
    {
        lock (gate)
        {
            if (entries.TryGetValue(model, out var entry) && entry.Pins > 0)
            {
                entry.Pins--;
                if (entry.Pins == 0)
                {
                    SignalRoomLocked();
                }
            }
        }
    }

    /// <summary>Evicts a model if it is resident and unpinned; true when it was evicted. Nothing is copied back.</summary>
    public bool TryEvict(string model) => EvictIfUnpinned(model, null);

    /// <summary>
    /// Evicts a model if it is resident, unpinned and its swap-in produced exactly <paramref name="resident"/>, so a
    /// stale request (about a copy since evicted and swapped in again) leaves the newer copy alone.
    /// </summary>
    public bool TryEvict(string model, TResident resident) => EvictIfUnpinned(model, resident ?? throw new ArgumentNullException(nameof(resident)));

    private bool EvictIfUnpinned(string model, object? only)
    {
        Entry? victim = null;
        lock (gate)
        {
            if (entries.TryGetValue(model, out var entry) && entry.Pins == 0 &&
                (only is null || (entry.Loading.IsCompletedSuccessfully && ReferenceEquals(entry.Loading.Result, only))))
            {
                RemoveLocked(entry);
                SignalRoomLocked();
                victim = entry;
            }
        }
        if (victim is null)
        {
            return false;
        }
        DisposeWhenLoaded(victim);
        return true;
    }

    /// <summary>
    /// True when the model is resident (or being swapped in). Takes no lock, so it may be called from inside another
    /// table's lock (or this one's); the answer is the residency at some moment during the call.
    /// </summary>
    public bool Contains(string model) => residentNames.ContainsKey(model);

    /// <summary>Residency in most-recently-used-first order.</summary>
    public ResidencySnapshot Snapshot(int inFlight)
    {
        lock (gate)
        {
            var resident = recency.Select(e => new ResidentModel(e.Model, e.Bytes, e.Pins)).ToList();
            return new ResidencySnapshot(BudgetBytes, usedBytes, resident, swapIns, evictions, inFlight);
        }
    }

    /// <summary>Evicts everything (device shutdown); pinned models included.</summary>
    public void Clear()
    {
        List<Entry> all;
        lock (gate)
        {
            all = [.. entries.Values];
            entries.Clear();
            residentNames.Clear();
            recency.Clear();
            usedBytes = 0;
        }
        foreach (var entry in all)
        {
            DisposeWhenLoaded(entry);
        }
    }

    /// <summary>Wakes swap-ins waiting for memory: a model became evictable or left.</summary>
    private void SignalRoomLocked()
    {
        roomFreed?.TrySetResult();
        roomFreed = null;
    }

    private static Task<TResident> StartSwapIn(Func<Task<TResident>> swapIn)
    {
        try
        {
            return swapIn();
        }
        catch (Exception e)
        {
            return Task.FromException<TResident>(e);
        }
    }

    private void AddLocked(Entry entry, bool atHead)
    {
        entries[entry.Model] = entry;
        residentNames[entry.Model] = 0;
        entry.Node = atHead ? recency.AddFirst(entry) : recency.AddLast(entry);
        usedBytes += entry.Bytes;
    }

    private void RemoveLocked(Entry entry)
    {
        entries.Remove(entry.Model);
        residentNames.TryRemove(entry.Model, out _);
        recency.Remove(entry.Node!);
        usedBytes -= entry.Bytes;
        evictions++;
    }

    private static void DisposeWhenLoaded(Entry entry) =>
        entry.Loading.ContinueWith(
            static t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    t.Result.Dispose();
                }
            },
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
