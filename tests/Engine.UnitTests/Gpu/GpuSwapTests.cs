namespace OrleansServe.Engine.UnitTests.Gpu;

/// <summary>Pipelined swap-in, reserved memory and gpulets of the GPU engine, on ILGPU's CPU accelerator.</summary>
public sealed class GpuSwapTests
{
    /// <summary>A guard against a hang, never a timing assertion: every wait below is on an explicit signal.</summary>
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Steps_never_start_before_their_group_lands_and_the_first_starts_before_the_last_group_lands()
    {
        var store = SwapModels.Store(("vgg", "vgg16_tiny"));
        Assert.True(store.TryGetPacked("vgg", out var packed));
        var last = packed.Layout.Groups.Count - 1;
        Assert.True(last >= 2, $"the test needs several transfer groups, got {last + 1}");
        var observer = new RecordingObserver();
        var gate = new TransferGate();
        gate.Hold("vgg", last);
        using var device = await SwapModels.StartAsync(store, new GpuExecutionOptions { ReservedBytes = 8L << 20, Observer = observer, TransferGate = gate });
        var inputs = SwapModels.Inputs("vgg16_tiny");

        var run = device.RunAsync("vgg", inputs, SwapModels.Outputs("vgg16_tiny"));
        var blocked = observer.StepWaitingFor("vgg", last);
        var first = await Task.WhenAny(run, blocked).WaitAsync(Guard);

        Assert.Same(blocked, first); // the run cannot finish: a step needs the held group
        Assert.Contains(observer.Steps, s => s.Step == 0);
        Assert.DoesNotContain(observer.Landed, l => l.Group == last);
        Assert.DoesNotContain(observer.Steps, s => s.Group == last);
        gate.Release("vgg", last);
        var result = await run.WaitAsync(Guard);

        Assert.True(result.SwappedIn);
        var landedAt = observer.Landed.ToDictionary(l => l.Group, l => l.Seq);
        Assert.Equal(packed.Layout.Groups.Count, landedAt.Count);
        Assert.Contains(observer.Steps, s => s.Group == last);
        foreach (var step in observer.Steps.Where(s => s.Group >= 0))
        {
            Assert.True(landedAt[step.Group] < step.Seq, $"step {step.Step} started before its group {step.Group} landed");
        }
        SwapModels.AssertMatches(SwapModels.OnnxRuntime("vgg16_tiny", inputs), result.Outputs);
    }

    [Fact]
    public async Task Two_requests_for_a_model_mid_swap_share_one_copy_of_each_group()
    {
        var store = SwapModels.Store(("lenet", "lenet5_tiny"));
        Assert.True(store.TryGetPacked("lenet", out var packed));
        var observer = new RecordingObserver();
        var gate = new TransferGate();
        gate.Hold("lenet", 0);
        using var device = await SwapModels.StartAsync(store, new GpuExecutionOptions { ReservedBytes = 4L << 20, Observer = observer, TransferGate = gate });
        var outputs = SwapModels.Outputs("lenet5_tiny");
        var first = SwapModels.Inputs("lenet5_tiny", seed: 1);
        var second = SwapModels.Inputs("lenet5_tiny", seed: 2);

        var one = device.RunAsync("lenet", first, outputs);
        Assert.True(gate.WaitUntilReached("lenet", 0, Guard));
        var two = device.RunAsync("lenet", second, outputs);

        Assert.Equal(2, device.Snapshot().Resident.Single(r => r.Model == "lenet").Pins);
        gate.Release("lenet", 0);
        var results = await Task.WhenAll(one, two).WaitAsync(Guard);

        Assert.Equal(
            Enumerable.Range(0, packed.Layout.Groups.Count),
            observer.Landed.Where(l => l.Model == "lenet").Select(l => l.Group).Order());
        Assert.Equal(packed.Layout.Groups.Count, device.Copier.GroupsCopied);
        Assert.Equal(1, device.Snapshot().SwapIns);
        SwapModels.AssertMatches(SwapModels.OnnxRuntime("lenet5_tiny", first), results[0].Outputs);
        SwapModels.AssertMatches(SwapModels.OnnxRuntime("lenet5_tiny", second), results[1].Outputs);
    }

    [Fact]
    public async Task Pipelined_outputs_equal_transfer_then_run_outputs_and_onnx_runtimes()
    {
        string[] zoo = ["lenet5_tiny", "resnet50_tiny", "bert_base_tiny"];
        var store = SwapModels.Store([.. zoo.Select(z => (z, z))]);
        using var pipelined = await SwapModels.StartAsync(store, new GpuExecutionOptions { ReservedBytes = 16L << 20 });
        using var transferThenRun = await SwapModels.StartAsync(store, new GpuExecutionOptions { ReservedBytes = 16L << 20, SwapMode = SwapMode.TransferThenRun });

        foreach (var model in zoo)
        {
            var inputs = SwapModels.Inputs(model, batch: 2);
            var outputs = SwapModels.Outputs(model);
            var a = await pipelined.RunAsync(model, inputs, outputs);
            var b = await transferThenRun.RunAsync(model, inputs, outputs);

            Assert.Equal(a.Outputs.Select(o => o.Data.ToArray()), b.Outputs.Select(o => o.Data.ToArray()));
            SwapModels.AssertMatches(SwapModels.OnnxRuntime(model, inputs), a.Outputs);
        }
    }

    [Theory]
    [InlineData(SwapMode.Pipelined)]
    [InlineData(SwapMode.TransferThenRun)]
    public async Task A_failed_copy_fails_the_waiting_batch_with_the_reason_and_the_next_request_swaps_the_model_in_afresh(SwapMode mode)
    {
        var store = SwapModels.Store(("vgg", "vgg16_tiny"));
        Assert.True(store.TryGetPacked("vgg", out var packed));
        Assert.True(packed.Layout.Groups.Count >= 3, "the test needs a group after the failing one");
        var gate = new TransferGate();
        gate.Fail("vgg", 1, new IOException("PCIe link reset"));
        using var device = await SwapModels.StartAsync(store, new GpuExecutionOptions { ReservedBytes = 8L << 20, TransferGate = gate, SwapMode = mode });
        var inputs = SwapModels.Inputs("vgg16_tiny");
        var outputs = SwapModels.Outputs("vgg16_tiny");

        var error = await Assert.ThrowsAsync<SwapInException>(() => device.RunAsync("vgg", inputs, outputs).WaitAsync(Guard));

        Assert.Equal("model 'vgg' could not be swapped in: copying its weights to the device failed: PCIe link reset", error.Message);
        // The failing batch took the void copy off the device; nothing of it stays allocated.
        Assert.DoesNotContain(device.Snapshot().Resident, r => r.Model == "vgg");
        Assert.Equal(0, device.Memory.Arena.UsedBytes);
        var result = await device.RunAsync("vgg", inputs, outputs).WaitAsync(Guard);

        Assert.True(result.SwappedIn);
        Assert.Equal(2, device.Snapshot().SwapIns);
        SwapModels.AssertMatches(SwapModels.OnnxRuntime("vgg16_tiny", inputs), result.Outputs);
        Assert.True(device.Evict("vgg"));
        store.Remove("vgg");
        Assert.True(packed.IsFreed); // no lease of the failed copy is left behind
    }

    [Fact]
    public async Task Arena_compaction_moves_a_resident_model_and_it_still_answers_correctly()
    {
        var store = SwapModels.Store(("first", "lenet5_tiny"), ("second", "vgg16_tiny"));
        using var device = await SwapModels.StartAsync(store, new GpuExecutionOptions { ReservedBytes = 4L << 20 });
        var inputs = SwapModels.Inputs("vgg16_tiny");
        var outputs = SwapModels.Outputs("vgg16_tiny");
        await device.EnsureResidentAsync("first");
        await device.RunAsync("second", inputs, outputs);
        var model = device.Gpulets.Single().Resident("second")!;
        var (offset, version) = (model.WeightBlock!.Offset, model.WeightBlock.Version);
        var arena = device.Memory.Arena;

        Assert.True(device.Evict("first"));
        // Everything left free, in one block: only compaction can make that hole.
        var everything = device.Memory.Allocate(arena.FreeBytes, TimeSpan.Zero);
        device.Memory.Free(everything);
        var result = await device.RunAsync("second", inputs, outputs);

        Assert.Equal(1, arena.Compactions);
        Assert.True(model.WeightBlock.Offset < offset, $"the block stayed at {model.WeightBlock.Offset}");
        Assert.True(model.WeightBlock.Version > version);
        Assert.Equal(1, model.Rebinds);
        Assert.False(result.SwappedIn);
        SwapModels.AssertMatches(SwapModels.OnnxRuntime("vgg16_tiny", inputs), result.Outputs);
    }

    [Fact]
    public async Task Evicting_a_model_frees_its_arena_blocks()
    {
        var store = SwapModels.Store(("lenet", "lenet5_tiny"));
        using var device = await SwapModels.StartAsync(store, new GpuExecutionOptions { ReservedBytes = 4L << 20 });
        var arena = device.Memory.Arena;

        await device.RunAsync("lenet", SwapModels.Inputs("lenet5_tiny"), SwapModels.Outputs("lenet5_tiny"));
        Assert.Equal(2, arena.Count); // weights and workspace
        Assert.True(arena.UsedBytes > 0);

        Assert.True(device.Evict("lenet"));

        Assert.Equal(0, arena.Count);
        Assert.Equal(0, arena.UsedBytes);
        Assert.False(device.Snapshot().Resident.Any());
    }

    [Fact]
    public async Task Serves_more_models_than_fit_its_memory_budget_by_swapping_and_answers_every_request()
    {
        string[] names = ["a", "b", "c"];
        var store = SwapModels.Store([.. names.Select(n => (n, "vgg16_tiny"))]);
        Assert.True(store.TryGetPacked("a", out var packed));
        var weights = packed.Layout.TotalBytes;
        var inputs = SwapModels.Inputs("vgg16_tiny");
        var workspace = GraphPlanner.Plan(GraphRewrites.Optimize(OnnxGraph.Read(ModelZoo.Build("vgg16_tiny"))),
            new Dictionary<string, int[]> { ["input"] = [1, 3, 32, 32] }).WorkspaceBytes;
        // Room for two models' weights, not three; every model's workspace fits beside them.
        var reserved = (long)(2.5 * weights) + 3 * (workspace + 4096) + (64 << 10);
        var options = new GpuExecutionOptions { ReservedBytes = reserved, WorkspaceFraction = 1 - 2.5 * weights / reserved };
        using var device = await SwapModels.StartAsync(store, options);
        Assert.InRange(device.MemoryBudgetBytes, 2 * weights, 3 * weights - 1);
        var expected = SwapModels.OnnxRuntime("vgg16_tiny", inputs);

        foreach (var model in names.Concat(names).Concat(names))
        {
            var result = await device.RunAsync(model, inputs, SwapModels.Outputs("vgg16_tiny"));
            SwapModels.AssertMatches(expected, result.Outputs);
        }

        var snapshot = device.Snapshot();
        Assert.Equal(9, snapshot.SwapIns);
        Assert.Equal(7, snapshot.Evictions);
        Assert.True(snapshot.UsedBytes <= device.MemoryBudgetBytes);
    }

    [Fact]
    public async Task A_model_waiting_for_memory_is_not_starved_by_a_busy_resident_model()
    {
        var store = SwapModels.Store(("a", "vgg16_tiny"), ("b", "vgg16_tiny"));
        Assert.True(store.TryGetPacked("a", out var packed));
        var weights = packed.Layout.TotalBytes;
        var last = packed.Layout.Groups.Count - 1;
        var inputs = SwapModels.Inputs("vgg16_tiny");
        var outputs = SwapModels.Outputs("vgg16_tiny");
        var workspace = GraphPlanner.Plan(GraphRewrites.Optimize(OnnxGraph.Read(ModelZoo.Build("vgg16_tiny"))),
            new Dictionary<string, int[]> { ["input"] = [1, 3, 32, 32] }).WorkspaceBytes;
        var observer = new RecordingObserver();
        var gate = new TransferGate();
        gate.Hold("a", last);
        // Room for one model's weights, and a memory wait far beyond the guard: only taking turns lets "b" in.
        var reserved = 3 * weights + 2 * (workspace + 4096) + (64 << 10);
        var options = new GpuExecutionOptions
        {
            ReservedBytes = reserved,
            WorkspaceFraction = 1 - 1.5 * weights / reserved,
            MemoryWait = TimeSpan.FromMinutes(10),
            Observer = observer,
            TransferGate = gate,
        };
        using var device = await SwapModels.StartAsync(store, options);
        using var stop = new CancellationTokenSource();
        // Four clients keep "a" pinned without a gap: each sends its next batch as soon as its last one is answered.
        var busy = Enumerable.Range(0, 4).Select(async _ =>
        {
            await Task.Yield();
            while (!stop.IsCancellationRequested)
            {
                await device.RunAsync("a", inputs, outputs);
            }
        }).ToList();
        // A batch of "a" is running (its last group held back), so "a" is pinned when "b" asks for its memory.
        await observer.StepWaitingFor("a", last).WaitAsync(Guard);

        var waiting = device.RunAsync("b", inputs, outputs);
        Assert.False(waiting.IsCompleted);
        gate.Release("a", last);
        var b = await waiting.WaitAsync(Guard);
        stop.Cancel();
        await Task.WhenAll(busy).WaitAsync(Guard);

        Assert.True(b.SwappedIn);
        SwapModels.AssertMatches(SwapModels.OnnxRuntime("vgg16_tiny", inputs), b.Outputs);
    }

    [Fact]
    public async Task A_model_with_operators_the_engine_lacks_is_refused_with_the_reason()
    {
        var graph = new OnnxGraphBuilder("exotic");
        graph.AddInput("x", ElementType.Fp32, 1, 4);
        graph.AddNode("TopK", ["x"], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 1, 4);
        var store = SwapModels.Store();
        store.Put("exotic", graph.ToBytes());
        using var device = await SwapModels.StartAsync(store, new GpuExecutionOptions { ReservedBytes = 1L << 20 });

        var error = await Assert.ThrowsAsync<ModelPlanException>(() => device.EnsureResidentAsync("exotic"));

        Assert.Contains("cannot run on the GPU engine", error.Message);
        Assert.Contains("TopK", error.Message);
        Assert.Equal("ilgpu-cpu", device.Kind);
    }

    [Fact]
    public async Task Gpulets_each_serve_their_models_with_their_share_and_a_repartition_loses_no_request()
    {
        var store = SwapModels.Store(("lenet", "lenet5_tiny"), ("vgg", "vgg16_tiny"));
        var options = new GpuExecutionOptions
        {
            ReservedBytes = 8L << 20,
            Partitions = [new PartitionSpec(50, ["lenet"]), new PartitionSpec(20, ["vgg"])],
        };
        using var device = await SwapModels.StartAsync(store, options);
        var lenetInputs = SwapModels.Inputs("lenet5_tiny");
        var vggInputs = SwapModels.Inputs("vgg16_tiny");
        var lenetExpected = SwapModels.OnnxRuntime("lenet5_tiny", lenetInputs);
        var vggExpected = SwapModels.OnnxRuntime("vgg16_tiny", vggInputs);

        var limits = await Task.WhenAll(device.Gpulets.Select(g => g.Ready));
        var lenet = device.RunAsync("lenet", lenetInputs, SwapModels.Outputs("lenet5_tiny"));
        var vgg = device.RunAsync("vgg", vggInputs, SwapModels.Outputs("vgg16_tiny"));
        var repartition = device.RepartitionAsync([new PartitionSpec(100, [])]);
        var again = device.RunAsync("vgg", vggInputs, SwapModels.Outputs("vgg16_tiny"));
        await repartition.WaitAsync(Guard);

        Assert.Equal([2, 1], limits.Select(l => l.MaxGroups));
        SwapModels.AssertMatches(lenetExpected, (await lenet).Outputs);
        SwapModels.AssertMatches(vggExpected, (await vgg).Outputs);
        SwapModels.AssertMatches(vggExpected, (await again).Outputs);
        Assert.Equal(100, device.Gpulets.Single().SmPercent);
    }

    [Theory]
    [InlineData(EvictionPolicy.Torpor, "a")]
    [InlineData(EvictionPolicy.Lru, "b")]
    public async Task Torpor_policy_on_split_gpulets_evicts_the_replica_before_a_sole_copy(EvictionPolicy policy, string evicted)
    {
        var store = SwapModels.Store(("a", "lenet5_tiny"), ("b", "lenet5_tiny"), ("c", "lenet5_tiny"));
        Assert.True(store.TryGetPacked("a", out var packed));
        var weights = Math.Max(1, packed.Layout.TotalBytes);
        // Both gpulets bind "a"; each has room for two of these (equally light) models.
        var share = 2 * weights + weights / 2;
        var options = new GpuExecutionOptions
        {
            ReservedBytes = 8L << 20,
            Eviction = policy,
            Partitions = [new PartitionSpec(50, ["a", "b", "c"], share), new PartitionSpec(50, ["a"], share)],
        };
        using var device = await SwapModels.StartAsync(store, options);
        var (first, second) = (device.Gpulets[0], device.Gpulets[1]);
        await second.EnsureResidentAsync("a").WaitAsync(Guard);
        await first.EnsureResidentAsync("b").WaitAsync(Guard);
        await first.EnsureResidentAsync("a").WaitAsync(Guard);

        // "b" is the least recently used on the first gpulet, but "a" has a copy on the second.
        await first.EnsureResidentAsync("c").WaitAsync(Guard);

        string[] models = ["a", "b", "c"];
        Assert.Equal(models.Where(m => m != evicted), models.Where(first.IsResident));
        Assert.True(second.IsResident("a"), "the other gpulet's copy stays");
        var inputs = SwapModels.Inputs("lenet5_tiny");
        var result = await device.RunAsync("a", inputs, SwapModels.Outputs("lenet5_tiny")).WaitAsync(Guard);
        SwapModels.AssertMatches(SwapModels.OnnxRuntime("lenet5_tiny", inputs), result.Outputs);
    }
}
