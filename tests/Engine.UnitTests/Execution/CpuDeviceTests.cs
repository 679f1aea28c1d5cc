using System.Runtime.InteropServices;

namespace OrleansServe.Engine.UnitTests.Execution;

public sealed class CpuDeviceTests
{
    [Theory]
    [InlineData(100, 2, 2)]
    [InlineData(50, 2, 1)]
    [InlineData(40, 2, 1)]
    [InlineData(60, 2, 1)]
    [InlineData(50, 3, 2)]
    [InlineData(25, 16, 4)]
    [InlineData(1, 16, 1)]
    public void A_gpulet_gets_its_share_of_the_cores_as_intra_op_threads(int smPercent, int cores, int expected)
    {
        Assert.Equal(expected, CpuGpulet.IntraOpThreadsFor(smPercent, cores));
        using var gpulet = new CpuGpulet("test", smPercent, 1 << 20, new CpuDeviceOptions { Cores = cores }, new HostWeightStore(1 << 20));
        Assert.Equal(expected, gpulet.IntraOpThreads);
    }

    [Fact]
    public async Task A_gpulet_swaps_a_model_in_on_first_use_and_runs_it_from_its_own_session()
    {
        var weights = new HostWeightStore(1 << 20);
        weights.Put("add", TestModels.AddConstant(1.5f));
        using var gpulet = new CpuGpulet("test", 50, 1 << 20, new CpuDeviceOptions { Cores = 2 }, weights);

        var first = await gpulet.RunAsync("add", [Input(1f, 2f, 3f)], ["y"]);
        var second = await gpulet.RunAsync("add", [Input(0f, 0f, 0f)], ["y"]);

        Assert.True(first.SwappedIn);
        Assert.False(second.SwappedIn);
        Assert.Equal([2.5f, 3.5f, 4.5f], MemoryMarshal.Cast<byte, float>(first.Outputs[0].Data.Span).ToArray());
        var snapshot = gpulet.Snapshot();
        Assert.Equal("add", Assert.Single(snapshot.Resident).Model);
        Assert.Equal(1, snapshot.SwapIns);
        Assert.True(gpulet.Evict("add"));
        Assert.False(gpulet.IsResident("add"));
    }

    [Fact]
    public async Task Models_that_do_not_fit_together_take_turns_on_a_gpulet()
    {
        var weights = new HostWeightStore(1 << 20);
        var a = TestModels.AddConstant(1f);
        weights.Put("a", a);
        weights.Put("b", TestModels.AddConstant(2f));
        using var gpulet = new CpuGpulet("test", 100, a.LongLength + 1, new CpuDeviceOptions { Cores = 2 }, weights);

        var runs = Enumerable.Range(0, 20).Select(i => gpulet.RunAsync(i % 2 == 0 ? "a" : "b", [Input(0f, 0f, 0f)], ["y"])).ToList();
        var results = await Task.WhenAll(runs);

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? 1f : 2f, MemoryMarshal.Cast<byte, float>(results[i].Outputs[0].Data.Span)[0]);
        }
        Assert.True(gpulet.Snapshot().Evictions >= 1);
        Assert.True(gpulet.Snapshot().UsedBytes <= gpulet.MemoryBudgetBytes);
    }

    [Fact]
    public async Task The_cpu_device_splits_into_gpulets_and_back_keeping_its_models_runnable()
    {
        var weights = new HostWeightStore(1 << 20);
        weights.Put("add", TestModels.AddConstant(1f));
        var options = new CpuDeviceOptions { Cores = 4, MemoryBudgetBytes = 1 << 20, Partitions = [new PartitionSpec(50, []), new PartitionSpec(50, [])] };
        using var device = new CpuDevice("cpu-test", options, weights);
        Assert.Equal([50, 50], device.Partitions.Select(p => p.SmPercent));
        await device.RunAsync("add", [Input(1f, 1f, 1f)], ["y"]);

        await device.RepartitionAsync([new PartitionSpec(40, ["add"]), new PartitionSpec(60, [])]);
        var split = device.Snapshot();
        var result = await device.RunAsync("add", [Input(1f, 1f, 1f)], ["y"]);

        Assert.Equal([40, 60], split.Gpulets.Select(g => g.SmPercent));
        Assert.Equal(2f, MemoryMarshal.Cast<byte, float>(result.Outputs[0].Data.Span)[0]);
        Assert.True(result.SwappedIn, "the new gpulet builds its own session");
        Assert.Equal("add", Assert.Single(device.Snapshot().Gpulets[0].Residency.Resident).Model);
        await Assert.ThrowsAsync<ArgumentException>(() => device.RepartitionAsync([new PartitionSpec(60, []), new PartitionSpec(50, [])]));
        Assert.Equal([40, 60], device.Partitions.Select(p => p.SmPercent));
    }

    [Fact]
    public async Task A_model_waiting_for_memory_is_not_starved_by_a_busy_resident_model()
    {
        var weights = new HostWeightStore(1 << 20);
        var a = TestModels.AddConstant(1f);
        weights.Put("a", a);
        weights.Put("b", TestModels.AddConstant(2f));
        // Room for one model, and a memory wait far beyond the guard: only taking turns lets "b" in.
        var options = new CpuDeviceOptions { Cores = 1, MemoryWait = TimeSpan.FromMinutes(10) };
        using var gpulet = new CpuGpulet("test", 100, a.LongLength + 1, options, weights);
        await gpulet.EnsureResidentAsync("a");
        using var stop = new CancellationTokenSource();
        var answered = 0;
        var allAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Four clients keep "a" pinned without a gap: each sends its next batch as soon as its last one is answered.
        var busy = Enumerable.Range(0, 4).Select(async _ =>
        {
            await Task.Yield();
            var first = true;
            while (!stop.IsCancellationRequested)
            {
                await gpulet.RunAsync("a", [Input(0f, 0f, 0f)], ["y"]);
                if (first && Interlocked.Increment(ref answered) == 4)
                {
                    allAnswered.SetResult();
                }
                first = false;
            }
        }).ToList();
        // Every client is in its loop, so "a" is kept pinned by then, not only later.
        await allAnswered.Task.WaitAsync(TimeSpan.FromMinutes(2));

        var b = await gpulet.RunAsync("b", [Input(0f, 0f, 0f)], ["y"]).WaitAsync(TimeSpan.FromMinutes(2));
        stop.Cancel();
        await Task.WhenAll(busy);

        Assert.True(b.SwappedIn);
        Assert.Equal(2f, MemoryMarshal.Cast<byte, float>(b.Outputs[0].Data.Span)[0]);
    }

    [Theory]
    [InlineData(EvictionPolicy.Torpor, "a")]
    [InlineData(EvictionPolicy.Lru, "b")]
    public async Task Torpor_policy_on_a_split_device_evicts_the_replica_before_a_sole_copy(EvictionPolicy policy, string evicted)
    {
        var weights = new HostWeightStore(1 << 20);
        var size = TestModels.AddConstant(1f).LongLength;
        weights.Put("a", TestModels.AddConstant(1f));
        weights.Put("b", TestModels.AddConstant(2f));
        weights.Put("c", TestModels.AddConstant(3f));
        // Both gpulets bind "a"; each has room for two of these (equally light) models.
        var options = new CpuDeviceOptions
        {
            Cores = 2,
            MemoryBudgetBytes = 1 << 20,
            Eviction = policy,
            Partitions = [new PartitionSpec(50, ["a", "b", "c"], 2 * size + 1), new PartitionSpec(50, ["a"], 2 * size + 1)],
        };
        using var device = new CpuDevice("cpu-torpor", options, weights);
        var (first, second) = (device.Gpulets[0], device.Gpulets[1]);
        await second.EnsureResidentAsync("a");
        await first.EnsureResidentAsync("b");
        await first.EnsureResidentAsync("a");

        // "b" is the least recently used on the first gpulet, but "a" has a copy on the second.
        await first.EnsureResidentAsync("c");

        string[] models = ["a", "b", "c"];
        Assert.Equal(models.Where(m => m != evicted), models.Where(first.IsResident));
        Assert.True(second.IsResident("a"), "the other gpulet's copy stays");
        Assert.Equal(1, first.Snapshot().Evictions);
        var result = await device.RunAsync("a", [Input(0f, 0f, 0f)], ["y"]);
        Assert.Equal(1f, MemoryMarshal.Cast<byte, float>(result.Outputs[0].Data.Span)[0]);
    }

    private static NamedTensor Input(params float[] values) =>
        new("x", ElementType.Fp32, [1, values.Length], MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
}
