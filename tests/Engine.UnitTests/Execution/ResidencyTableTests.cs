namespace OrleansServe.Engine.UnitTests.Execution;

public sealed class ResidencyTableTests
{
    private sealed class Resident(string model) : IDisposable
    {
        public string Model { get; } = model;
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    private static Func<Task<Resident>> Load(string model, List<Resident>? created = null) => () =>
    {
        var resident = new Resident(model);
        created?.Add(resident);
        return Task.FromResult(resident);
    };

    private static async Task UseAsync(ResidencyTable<Resident> table, string model, long bytes, List<Resident>? created = null)
    {
        await table.AcquireAsync(model, bytes, Load(model, created));
        table.Release(model);
    }

    [Fact]
    public async Task Evicts_least_recently_used_model_when_memory_is_full()
    {
        var table = new ResidencyTable<Resident>(300, TimeSpan.Zero);
        var created = new List<Resident>();
        await UseAsync(table, "a", 100, created);
        await UseAsync(table, "b", 100, created);
        await UseAsync(table, "c", 100, created);
        await UseAsync(table, "a", 100, created); // a becomes the most recently used

        await UseAsync(table, "d", 100, created);

        Assert.False(table.Contains("b"));
        Assert.True(table.Contains("a"));
        Assert.True(table.Contains("c"));
        Assert.True(table.Contains("d"));
        Assert.True(created.Single(r => r.Model == "b").Disposed);
        var snapshot = table.Snapshot(inFlight: 0);
        Assert.Equal(300, snapshot.UsedBytes);
        Assert.Equal(4, snapshot.SwapIns);
        Assert.Equal(1, snapshot.Evictions);
    }

    [Fact]
    public async Task Never_evicts_a_model_with_a_batch_in_flight()
    {
        var table = new ResidencyTable<Resident>(200, TimeSpan.Zero);
        await table.AcquireAsync("pinned", 100, Load("pinned")); // not released: a batch is running
        await UseAsync(table, "idle", 100);

        await UseAsync(table, "new", 100);

        Assert.True(table.Contains("pinned"));
        Assert.False(table.Contains("idle"));
    }

    [Fact]
    public async Task Refuses_a_swap_in_when_every_resident_model_stays_pinned_and_keeps_them()
    {
        var table = new ResidencyTable<Resident>(200, TimeSpan.Zero);
        await table.AcquireAsync("a", 100, Load("a"));
        await table.AcquireAsync("b", 100, Load("b"));

        var error = await Assert.ThrowsAsync<DeviceMemoryException>(() => table.AcquireAsync("c", 100, Load("c")));

        Assert.Contains("in flight", error.Message);
        Assert.True(table.Contains("a"));
        Assert.True(table.Contains("b"));
        Assert.False(table.Contains("c"));
    }

    [Fact]
    public async Task A_swap_in_waits_for_a_pinned_model_to_be_released_and_then_evicts_it()
    {
        var table = new ResidencyTable<Resident>(200, TimeSpan.FromHours(1));
        await table.AcquireAsync("a", 100, Load("a"));
        await table.AcquireAsync("b", 100, Load("b"));

        var waiting = table.AcquireAsync("c", 100, Load("c"));
        Assert.False(waiting.IsCompleted);
        table.Release("a");
        var (resident, swappedIn) = await waiting;

        Assert.Equal("c", resident.Model);
        Assert.True(swappedIn);
        Assert.False(table.Contains("a"));
        Assert.True(table.Contains("b"));
    }

    [Fact]
    public async Task New_batches_of_a_busy_model_wait_behind_a_swap_in_that_needs_its_memory()
    {
        var table = new ResidencyTable<Resident>(100, TimeSpan.FromHours(1));
        await table.AcquireAsync("busy", 100, Load("busy")); // a batch in flight

        var waiting = table.AcquireAsync("other", 100, Load("other"));
        // The busy model's next batch arrives before its last one ends: were it admitted, "busy" would never be unpinned.
        var next = table.AcquireAsync("busy", 100, Load("busy"));
        Assert.False(waiting.IsCompleted);
        Assert.False(next.IsCompleted);
        table.Release("busy");
        var (other, otherSwappedIn) = await waiting.WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal("other", other.Model);
        Assert.True(otherSwappedIn);
        Assert.False(table.Contains("busy"));
        Assert.False(next.IsCompleted);
        table.Release("other");
        var (busy, busySwappedIn) = await next.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal("busy", busy.Model);
        Assert.True(busySwappedIn);
        Assert.False(table.Contains("other"));
    }

    [Fact]
    public async Task A_model_the_waiting_swap_in_will_not_evict_keeps_serving_while_it_waits()
    {
        var table = new ResidencyTable<Resident>(200, TimeSpan.FromHours(1));
        await table.AcquireAsync("old", 100, Load("old"));
        await table.AcquireAsync("recent", 100, Load("recent"));
        var waiting = table.AcquireAsync("new", 100, Load("new"));

        var recentAgain = table.AcquireAsync("recent", 100, Load("recent"));

        Assert.True(recentAgain.IsCompletedSuccessfully);
        Assert.False(waiting.IsCompleted);
        table.Release("old");
        await waiting.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.False(table.Contains("old"));
        Assert.True(table.Contains("recent"));
    }

    [Fact]
    public async Task Swap_ins_that_wait_for_memory_are_admitted_in_arrival_order()
    {
        var table = new ResidencyTable<Resident>(200, TimeSpan.FromHours(1));
        await table.AcquireAsync("pinned", 150, Load("pinned"));
        await UseAsync(table, "idle", 50);
        var large = table.AcquireAsync("large", 200, Load("large"));

        // Evicting "idle" would make room for it at once, and take the room the first waiting swap-in needs.
        var small = table.AcquireAsync("small", 50, Load("small"));

        Assert.False(small.IsCompleted);
        Assert.True(table.Contains("idle"));
        table.Release("pinned");
        await large.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.False(small.IsCompleted);
        table.Release("large");
        await small.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(table.Contains("small"));
        Assert.False(table.Contains("large"));
    }

    [Fact]
    public async Task Refuses_a_model_larger_than_the_whole_budget()
    {
        var table = new ResidencyTable<Resident>(100, TimeSpan.Zero);
        await Assert.ThrowsAsync<DeviceMemoryException>(() => table.AcquireAsync("huge", 101, Load("huge")));
        Assert.Equal(0, table.Snapshot(0).UsedBytes);
    }

    [Fact]
    public async Task Requests_for_a_model_mid_swap_share_that_swap_in()
    {
        var table = new ResidencyTable<Resident>(100, TimeSpan.Zero);
        var gate = new TaskCompletionSource<Resident>();
        var loads = 0;
        Func<Task<Resident>> slowLoad = () =>
        {
            loads++;
            return gate.Task;
        };

        var first = table.AcquireAsync("m", 50, slowLoad);
        var second = table.AcquireAsync("m", 50, slowLoad);
        Assert.False(first.IsCompleted);
        gate.SetResult(new Resident("m"));
        var (a, firstSwapped) = await first;
        var (b, secondSwapped) = await second;

        Assert.Equal(1, loads);
        Assert.Same(a, b);
        Assert.True(firstSwapped);
        Assert.False(secondSwapped);
        Assert.Equal(2, table.Snapshot(0).Resident.Single().Pins);
    }

    [Fact]
    public async Task A_failed_swap_in_leaves_nothing_resident()
    {
        var table = new ResidencyTable<Resident>(100, TimeSpan.Zero);
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            table.AcquireAsync("broken", 60, () => Task.FromException<Resident>(new InvalidOperationException("corrupt"))));

        Assert.False(table.Contains("broken"));
        Assert.Equal(0, table.Snapshot(0).UsedBytes);
        await UseAsync(table, "ok", 100);
        Assert.True(table.Contains("ok"));
    }

    [Fact]
    public async Task Explicit_eviction_skips_pinned_models()
    {
        var table = new ResidencyTable<Resident>(100, TimeSpan.Zero);
        await table.AcquireAsync("m", 10, Load("m"));
        Assert.False(table.TryEvict("m"));
        table.Release("m");
        Assert.True(table.TryEvict("m"));
        Assert.False(table.Contains("m"));
    }

    [Fact]
    public async Task Contains_does_not_wait_for_the_table_lock()
    {
        var table = new ResidencyTable<Resident>(300, TimeSpan.Zero);
        await UseAsync(table, "resident", 100);
        var inSwapIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var answered = new ManualResetEventSlim();
        var loaded = new TaskCompletionSource<Resident>(TaskCreationOptions.RunContinuationsAsynchronously);
        // A swap-in callback runs under the table's lock; this one keeps the lock until another thread has read residency.
        var acquire = Task.Run(() => table.AcquireAsync("swapping", 100, () =>
        {
            inSwapIn.SetResult();
            answered.Wait();
            return loaded.Task;
        }));
        (bool Resident, bool Absent) read;
        try
        {
            await inSwapIn.Task.WaitAsync(TimeSpan.FromMinutes(1));
            // Were Contains to take the lock, this would wait for the callback, which waits for it: the guard fails it.
            read = await Task.Run(() => (table.Contains("resident"), table.Contains("absent"))).WaitAsync(TimeSpan.FromMinutes(1));
        }
        finally
        {
            answered.Set();
        }

        Assert.True(read.Resident);
        Assert.False(read.Absent);
        // Snapshot takes the lock, so the swap-in has registered its entry by now; it still counts while loading.
        Assert.Contains(table.Snapshot(0).Resident, r => r.Model == "swapping");
        Assert.True(table.Contains("swapping"));
        Assert.False(acquire.IsCompleted);
        loaded.SetResult(new Resident("swapping"));
        Assert.True((await acquire).SwappedIn);
        table.Release("swapping");
        Assert.True(table.TryEvict("swapping"));
        Assert.False(table.Contains("swapping"));
        table.Clear();
        Assert.False(table.Contains("resident"));
    }

    private static ResidencyTable<Resident> Torpor(long budget, Func<string, bool>? hasReplicaElsewhere = null) =>
        new(new ResidencyOptions(budget) { Policy = EvictionPolicy.Torpor, LightModelBytes = 100, HasReplicaElsewhere = hasReplicaElsewhere });

    [Fact]
    public async Task Torpor_policy_evicts_light_models_before_heavy_ones()
    {
        var table = Torpor(600);
        await UseAsync(table, "heavy_old", 300);
        await UseAsync(table, "light_a", 100);
        await UseAsync(table, "light_b", 100);
        await UseAsync(table, "light_a", 100); // light_b is now the least recently used light model

        await UseAsync(table, "new", 200);

        Assert.True(table.Contains("heavy_old"));
        Assert.True(table.Contains("light_a"));
        Assert.False(table.Contains("light_b"));
    }

    [Fact]
    public async Task Torpor_policy_evicts_heavy_models_least_recently_used_first_once_light_ones_are_gone()
    {
        var table = Torpor(700);
        await UseAsync(table, "heavy_a", 300);
        await UseAsync(table, "heavy_b", 300);
        await UseAsync(table, "light", 100);

        await UseAsync(table, "new", 400);

        Assert.False(table.Contains("light"));
        Assert.False(table.Contains("heavy_a"));
        Assert.True(table.Contains("heavy_b"));
        Assert.Equal(2, table.Snapshot(0).Evictions);
    }

    [Fact]
    public async Task Torpor_policy_evicts_a_replica_before_a_sole_copy()
    {
        var replicated = new HashSet<string> { "heavy_replica" };
        var table = Torpor(600, replicated.Contains);
        await UseAsync(table, "light_sole", 100);
        await UseAsync(table, "heavy_replica", 300);
        await UseAsync(table, "heavy_sole", 200);

        await UseAsync(table, "new", 300);

        Assert.False(table.Contains("heavy_replica"));
        Assert.True(table.Contains("light_sole"));
        Assert.True(table.Contains("heavy_sole"));
    }

    [Fact]
    public async Task Lru_policy_ignores_size_and_replicas()
    {
        var table = new ResidencyTable<Resident>(new ResidencyOptions(400) { LightModelBytes = 100, HasReplicaElsewhere = _ => true });
        await UseAsync(table, "heavy", 300);
        await UseAsync(table, "light", 100);

        await UseAsync(table, "new", 100);

        Assert.Equal(EvictionPolicy.Lru, table.Policy);
        Assert.False(table.Contains("heavy"));
        Assert.True(table.Contains("light"));
    }

    [Fact]
    public async Task Torpor_policy_never_evicts_a_pinned_model_even_a_light_replica()
    {
        var table = Torpor(400, _ => true);
        await table.AcquireAsync("light_pinned", 100, Load("light_pinned")); // a batch is running
        await UseAsync(table, "heavy", 300);

        await UseAsync(table, "new", 200);

        Assert.True(table.Contains("light_pinned"));
        Assert.False(table.Contains("heavy"));
    }

    [Fact]
    public async Task Evicts_nothing_when_the_unpinned_models_cannot_make_enough_room()
    {
        var table = Torpor(400);
        await table.AcquireAsync("pinned", 300, Load("pinned"));
        await UseAsync(table, "light", 100);

        await Assert.ThrowsAsync<DeviceMemoryException>(() => table.AcquireAsync("new", 200, Load("new")));

        Assert.True(table.Contains("light"));
        Assert.Equal(0, table.Snapshot(0).Evictions);
    }

    [Fact]
    public async Task Random_churn_never_exceeds_the_budget_or_evicts_pinned_models()
    {
        var random = new Random(7);
        var table = new ResidencyTable<Resident>(1000, TimeSpan.Zero);
        var pinned = new HashSet<string>();
        for (var i = 0; i < 5000; i++)
        {
            var model = $"m{random.Next(40)}";
            var bytes = 50 + (model.GetHashCode() & 0x7f);
            if (pinned.Contains(model))
            {
                table.Release(model);
                pinned.Remove(model);
                continue;
            }
            try
            {
                await table.AcquireAsync(model, bytes, Load(model));
                if (random.Next(4) == 0 && pinned.Count < 3)
                {
                    pinned.Add(model);
                }
                else
                {
                    table.Release(model);
                }
            }
            catch (DeviceMemoryException)
            {
            }
            var snapshot = table.Snapshot(0);
            Assert.True(snapshot.UsedBytes <= 1000);
            Assert.All(pinned, p => Assert.True(table.Contains(p)));
        }
    }
}
