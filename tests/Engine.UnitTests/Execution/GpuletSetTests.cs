namespace OrleansServe.Engine.UnitTests.Execution;

public sealed class GpuletSetTests
{
    /// <summary>A gpulet whose batches finish when the test says so; it records where each batch ran.</summary>
    private sealed class HeldGpulet(PartitionSpec spec, long memoryBytes, string name) : IGpulet
    {
        private readonly HashSet<string> resident = [];
        private readonly List<TaskCompletionSource> held = [];
        private long swapIns;
        private long evictions;

        public string Name { get; } = name;
        public bool Disposed { get; private set; }
        public bool Hold { get; set; }
        public List<string> Ran { get; } = [];
        public int SmPercent { get; } = spec.SmPercent;
        public long MemoryBudgetBytes { get; } = memoryBytes;

        public Task EnsureResidentAsync(string model)
        {
            lock (resident)
            {
                swapIns += resident.Add(model) ? 1 : 0;
            }
            return Task.CompletedTask;
        }

        public async Task<DeviceRunResult> RunAsync(string model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs)
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            await EnsureResidentAsync(model);
            Ran.Add(model);
            if (Hold)
            {
                var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                held.Add(gate);
                await gate.Task;
            }
            ObjectDisposedException.ThrowIf(Disposed, this);
            return new DeviceRunResult([new NamedTensor(Name, ElementType.Fp32, [1], new byte[4])], 0, 0, 0, false);
        }

        public void ReleaseHeld()
        {
            foreach (var gate in held)
            {
                gate.TrySetResult();
            }
        }

        public bool Evict(string model)
        {
            lock (resident)
            {
                var removed = resident.Remove(model);
                evictions += removed ? 1 : 0;
                return removed;
            }
        }

        public HashSet<string> TooLarge { get; } = [];

        public bool CanHold(string model) => !TooLarge.Contains(model);

        public bool IsResident(string model)
        {
            lock (resident)
            {
                return resident.Contains(model);
            }
        }

        public ResidencySnapshot Snapshot()
        {
            lock (resident)
            {
                return new ResidencySnapshot(MemoryBudgetBytes, 0, [.. resident.Select(m => new ResidentModel(m, 0, 0))], swapIns, evictions, 0);
            }
        }

        public void Dispose() => Disposed = true;
    }

    private sealed class Factory
    {
        public List<HeldGpulet> Made { get; } = [];

        public IGpulet Create(PartitionSpec spec, long memoryBytes)
        {
            var gpulet = new HeldGpulet(spec, memoryBytes, $"g{Made.Count}");
            Made.Add(gpulet);
            return gpulet;
        }
    }

    private static Task<DeviceRunResult> Run(GpuletSet set, string model) => set.RunAsync(model, [], ["y"]);

    [Fact]
    public async Task Sends_a_bound_model_to_its_gpulet()
    {
        var factory = new Factory();
        using var set = new GpuletSet(1000, factory.Create, [new PartitionSpec(40, ["a"]), new PartitionSpec(60, ["b"])]);

        Assert.Equal("g1", (await Run(set, "b")).Outputs[0].Name);
        Assert.Equal("g0", (await Run(set, "a")).Outputs[0].Name);
    }

    [Fact]
    public async Task Sends_an_unbound_model_where_it_is_resident_else_to_the_least_loaded_gpulet()
    {
        var factory = new Factory();
        using var set = new GpuletSet(1000, factory.Create, [new PartitionSpec(50, []), new PartitionSpec(50, [])]);
        factory.Made[0].Hold = true;
        var busy = Run(set, "a");

        Assert.Equal("g1", (await Run(set, "b")).Outputs[0].Name);
        Assert.Equal("g1", (await Run(set, "b")).Outputs[0].Name);
        Assert.Equal(2, set.Snapshot().Gpulets.Count);
        factory.Made[0].ReleaseHeld();
        await busy;
        factory.Made[0].Hold = false;
        Assert.Equal("g0", (await Run(set, "a")).Outputs[0].Name);
    }

    [Fact]
    public async Task Repartitioning_lets_batches_in_flight_finish_on_the_old_gpulet_before_it_is_released()
    {
        var factory = new Factory();
        using var set = new GpuletSet(1000, factory.Create);
        var old = factory.Made[0];
        old.Hold = true;
        var inFlight = Run(set, "a");

        var repartition = set.RepartitionAsync([new PartitionSpec(50, ["a"]), new PartitionSpec(50, ["b"])]);
        var afterSplit = await Run(set, "a");

        Assert.Equal("g1", afterSplit.Outputs[0].Name);
        Assert.False(repartition.IsCompleted);
        Assert.False(old.Disposed);
        old.ReleaseHeld();
        Assert.Equal("g0", (await inFlight).Outputs[0].Name);
        await repartition;
        Assert.True(old.Disposed);
        Assert.Equal([50, 50], set.Partitions.Select(p => p.SmPercent));
    }

    [Fact]
    public async Task Repartitioning_evicts_the_old_gpulets_residents_and_keeps_the_counts()
    {
        var factory = new Factory();
        using var set = new GpuletSet(1000, factory.Create);
        await set.EnsureResidentAsync("a");
        await set.EnsureResidentAsync("b");

        await set.RepartitionAsync([new PartitionSpec(40, []), new PartitionSpec(60, [])]);

        Assert.Empty(factory.Made[0].Snapshot().Resident);
        var snapshot = set.Snapshot();
        Assert.Equal(2, snapshot.SwapIns);
        Assert.Equal(2, snapshot.Evictions);
        Assert.Equal(0, set.ReplicasOf("a"));
    }

    [Theory]
    [InlineData(new[] { 60, 50 }, new long[] { 0, 0 })]
    [InlineData(new[] { 0 }, new long[] { 0 })]
    [InlineData(new[] { 101 }, new long[] { 0 })]
    [InlineData(new[] { 50, 50 }, new long[] { 800, 300 })]
    [InlineData(new[] { 50, 50 }, new long[] { 1000, 0 })]
    [InlineData(new[] { 50 }, new long[] { -1 })]
    public async Task Refuses_an_invalid_split_and_keeps_the_current_one(int[] shares, long[] memory)
    {
        var factory = new Factory();
        using var set = new GpuletSet(1000, factory.Create);
        var split = shares.Select((s, i) => new PartitionSpec(s, [], memory[i])).ToList();

        await Assert.ThrowsAsync<ArgumentException>(() => set.RepartitionAsync(split));

        Assert.Single(factory.Made);
        Assert.Equal(100, Assert.Single(set.Partitions).SmPercent);
        Assert.False(factory.Made[0].Disposed);
    }

    [Fact]
    public void Gives_gpulets_without_a_memory_share_the_rest_in_proportion_to_their_compute_share()
    {
        var memory = GpuletSet.Validate([new PartitionSpec(20, [], 400), new PartitionSpec(20, []), new PartitionSpec(60, [])], 1200);

        Assert.Equal([400L, 200L, 600L], memory);
    }

    [Fact]
    public async Task Counts_a_model_resident_on_two_gpulets_as_two_replicas()
    {
        var factory = new Factory();
        using var set = new GpuletSet(1000, factory.Create, [new PartitionSpec(50, ["a"]), new PartitionSpec(50, ["a"])]);
        factory.Made[0].Hold = true;
        var first = Run(set, "a");

        await Run(set, "a");

        Assert.Equal(2, set.ReplicasOf("a"));
        Assert.True(set.Evict("a"));
        factory.Made[0].ReleaseHeld();
        await first;
    }

    [Fact]
    public async Task A_model_has_a_replica_elsewhere_only_when_another_gpulet_holds_it()
    {
        var factory = new Factory();
        using var set = new GpuletSet(1000, factory.Create, [new PartitionSpec(50, ["a"]), new PartitionSpec(50, ["b"])]);
        var (first, second) = (factory.Made[0], factory.Made[1]);
        await first.EnsureResidentAsync("a");

        Assert.False(set.HasReplicaElsewhere("a", first));
        Assert.True(set.HasReplicaElsewhere("a", second));
        Assert.False(set.HasReplicaElsewhere("b", first));

        await second.EnsureResidentAsync("a");
        Assert.True(set.HasReplicaElsewhere("a", first));
        await set.RepartitionAsync([new PartitionSpec(100, [])]);
        Assert.False(set.HasReplicaElsewhere("a", factory.Made[2]));
    }

    [Fact]
    public async Task Never_sends_a_model_to_a_gpulet_whose_memory_share_cannot_hold_it_while_another_can()
    {
        var factory = new Factory();
        using var set = new GpuletSet(1000, factory.Create, [new PartitionSpec(20, ["big"]), new PartitionSpec(80, [])]);
        factory.Made[0].TooLarge.Add("big");

        Assert.Equal("g1", (await Run(set, "big")).Outputs[0].Name);

        // When no gpulet can hold it, the plan's gpulet still gets it, and its refusal says why.
        factory.Made[1].TooLarge.Add("big");
        Assert.Equal("g0", (await Run(set, "big")).Outputs[0].Name);
    }
}
