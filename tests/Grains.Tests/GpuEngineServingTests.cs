using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu.Planning;
using static OrleansServe.Grains.Tests.Tensors;

namespace OrleansServe.Grains.Tests;

/// <summary>
/// A silo with a GPU-engine device (ILGPU's CPU accelerator, the same code a GPU runs) whose memory holds one of its
/// three models at a time, beside the CPU device.
/// </summary>
public sealed class GpuEngineCluster : ServingCluster
{
    public static readonly string[] Models = ["mlp", "lenet5", "resnet_small"];

    /// <summary>Bytes of a model's weights as packed for devices.</summary>
    public static long PackedBytes(string model)
    {
        var store = new HostWeightStore(new HostWeightStoreOptions(1L << 30) { PinnedCapacityBytes = 1L << 30, PrepareForDevices = GraphRewrites.ForGpu, LockPages = false });
        store.Put(model, SampleZoo.Build(model));
        Assert.True(store.TryGetPacked(model, out var packed), store.PackingFailure(model));
        return packed.Layout.TotalBytes;
    }

    protected override void WriteModels()
    {
        foreach (var name in Models)
        {
            AddModel(name, SampleZoo.Build(name), """{"max_batch_size": 4}""");
        }
    }

    /// <summary>Bytes of a model's activation workspace at its largest batch.</summary>
    public static long WorkspaceBytes(string model) =>
        GraphPlanner.PlanForBatch(GraphRewrites.Optimize(OnnxGraph.Read(SampleZoo.Build(model))), 4).WorkspaceBytes;

    protected override IEnumerable<KeyValuePair<string, string>> Settings()
    {
        // Weights: room for the largest model and a little more, not for all three. Workspaces: room for every
        // model's at the largest batch, so only weights compete for memory.
        var weights = Models.Max(PackedBytes) + (64 << 10);
        // Slack of twice the weights, so a swap-in finds a hole beside a model pinned by its running batch.
        var reserved = 3 * weights + Models.Sum(WorkspaceBytes) + (1 << 20);
        yield return new("OrleansServe:Gpu:Mode", "ilgpu-cpu");
        yield return new("OrleansServe:Gpu:WorkspaceFraction", (1 - (double)weights / reserved).ToString("R", CultureInfo.InvariantCulture));
        yield return new("OrleansServe:Gpu:ReservedBytes", reserved.ToString(CultureInfo.InvariantCulture));
    }
}

/// <summary>A GPU-engine silo whose pinned host memory holds the small models but not resnet_small.</summary>
public sealed class PinnedCapCluster : ServingCluster
{
    protected override void WriteModels()
    {
        AddModel("mlp", SampleZoo.Build("mlp"), """{"max_batch_size": 4}""");
        AddModel("resnet_small", SampleZoo.Build("resnet_small"), """{"max_batch_size": 4}""");
    }

    protected override IEnumerable<KeyValuePair<string, string>> Settings()
    {
        yield return new("OrleansServe:Gpu:Mode", "ilgpu-cpu");
        yield return new("OrleansServe:PinnedMemoryBytes", ((GpuEngineCluster.PackedBytes("mlp") + GpuEngineCluster.PackedBytes("resnet_small")) / 2).ToString(CultureInfo.InvariantCulture));
    }
}

public sealed class GpuEngineServingTests(GpuEngineCluster fixture) : IClassFixture<GpuEngineCluster>
{
    private static readonly Dictionary<string, long[]> Shapes = new()
    {
        ["mlp"] = [1, 784],
        ["lenet5"] = [1, 1, 28, 28],
        ["resnet_small"] = [1, 3, 32, 32],
    };

    [Fact]
    public async Task Models_the_gpu_engine_runs_are_placed_on_the_gpu_device()
    {
        var plan = await fixture.Grains.GetGrain<ISchedulerGrain>("default").GetPlanAsync();

        var gpu = Assert.Single(plan.Assignments, a => a.DeviceKey.EndsWith("/gpu0", StringComparison.Ordinal));
        Assert.Equal(GpuEngineCluster.Models.Order(), gpu.Models.Order());
    }

    [Fact]
    public async Task Serves_more_models_than_fit_in_gpu_memory_by_pipelined_swapping_and_answers_every_request_correctly()
    {
        var scheduler = fixture.Grains.GetGrain<ISchedulerGrain>("default");
        var description = Assert.Single(await scheduler.GetDevicesAsync(), d => d.Kind == "ilgpu-cpu");
        var device = fixture.Grains.GetGrain<IGpuGrain>(description.Key);
        var before = await device.GetStatusAsync();
        Assert.True(GpuEngineCluster.Models.Sum(GpuEngineCluster.PackedBytes) > description.MemoryBudgetBytes, "the models must not fit together");
        var expected = Shapes.ToDictionary(m => m.Key, m => Reference(m.Key, Input(m.Value)));

        // Two clients per model, each with requests one after another, so models keep taking turns in memory.
        var clients = Shapes.SelectMany(model => Enumerable.Range(0, 2).Select(async _ =>
        {
            await Task.Yield();
            var outputs = new List<float[]>();
            for (var i = 0; i < 4; i++)
            {
                var response = await fixture.Grains.GetGrain<IModelGrain>(model.Key).InferAsync(Request(Fp32("input", model.Value, Input(model.Value))));
                Assert.Equal([1L, 10L], response.Outputs[0].Shape);
                outputs.Add(ReadFp32(response.Outputs[0]));
            }
            return (model.Key, outputs);
        })).ToList();
        var answered = await Task.WhenAll(clients).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(Shapes.Count * 2 * 4, answered.Sum(a => a.outputs.Count));
        foreach (var (model, outputs) in answered)
        {
            Assert.All(outputs, output => AssertClose(expected[model], output));
        }
        var after = await device.GetStatusAsync();
        Assert.True(after.SwapIns - before.SwapIns >= 2, $"models took turns: {after.SwapIns - before.SwapIns} swap-ins");
        Assert.True(after.Evictions > before.Evictions);
        Assert.True(after.UsedBytes <= description.MemoryBudgetBytes);
    }

    private static float[] Input(long[] shape) =>
        [.. Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(i => (float)Math.Sin(i * 0.37))];

    /// <summary>The model's output from ONNX Runtime on the CPU.</summary>
    private static float[] Reference(string model, float[] input)
    {
        using var session = new InferenceSession(SampleZoo.Build(model));
        var name = session.InputMetadata.Keys.Single();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(input, [.. Shapes[model].Select(d => (int)d)]))]);
        return [.. results.First().AsEnumerable<float>()];
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var scale = Math.Max(1, expected.Max(Math.Abs));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * scale, $"output {i}: {actual[i]} vs ONNX Runtime's {expected[i]}");
        }
    }
}

public sealed class PinnedMemoryCapTests(PinnedCapCluster fixture) : IClassFixture<PinnedCapCluster>
{
    [Fact]
    public async Task A_model_over_the_pinned_memory_cap_is_refused_with_the_reason_and_the_others_still_serve()
    {
        var refused = await fixture.Grains.GetGrain<IModelGrain>("resnet_small").GetStatusAsync();
        var response = await fixture.Grains.GetGrain<IModelGrain>("mlp").InferAsync(Request(Fp32("input", [1, 784], new float[784])));

        Assert.Equal(ModelState.Unavailable, refused.State);
        Assert.Contains("PinnedMemoryBytes", refused.Reason);
        Assert.Equal([1L, 10L], response.Outputs[0].Shape);
        var error = await Assert.ThrowsAsync<InferenceException>(() =>
            fixture.Grains.GetGrain<IModelGrain>("resnet_small").InferAsync(Request(Fp32("input", [1, 3, 32, 32], new float[3 * 32 * 32]))));
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);
    }
}
