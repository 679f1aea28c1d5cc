using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace OrleansServe.Engine.UnitTests.Gpu;

/// <summary>Every swap-in event in one order (a shared sequence number), so tests compare order, never time.</summary>
internal sealed class RecordingObserver : ISwapObserver
{
    private long sequence;

    public ConcurrentQueue<(long Seq, string Model, int Group)> Landed { get; } = new();

    public ConcurrentQueue<(long Seq, string Model, int Step, int Group)> Steps { get; } = new();

    public ConcurrentQueue<(long Seq, string Model, int Step, int Group)> Waits { get; } = new();

    /// <summary>Set when a step of the model waits for the group; tests wait on it instead of polling.</summary>
    public ConcurrentDictionary<(string Model, int Group), TaskCompletionSource> Waiting { get; } = new();

    public void StepWaiting(string model, int step, int group, long timestamp)
    {
        Waits.Enqueue((Interlocked.Increment(ref sequence), model, step, group));
        StepWaitingFor(model, group);
        Waiting[(model, group)].TrySetResult();
    }

    public Task StepWaitingFor(string model, int group) =>
        Waiting.GetOrAdd((model, group), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void GroupLanded(string model, int group, long timestamp) =>
        Landed.Enqueue((Interlocked.Increment(ref sequence), model, group));

    public void StepStarted(string model, int step, int neededGroup, long timestamp) =>
        Steps.Enqueue((Interlocked.Increment(ref sequence), model, step, neededGroup));
}

/// <summary>Tiny zoo models, their inputs, ONNX Runtime's outputs, and a store that packs them in small transfer groups.</summary>
internal static class SwapModels
{
    /// <summary>Small groups, so even a tiny model is several transfer groups.</summary>
    public const long GroupBytes = OrleansServe.Engine.Memory.WeightLayout.MinTransferGroupBytes;

    public static HostWeightStore Store(params (string Name, string ZooModel)[] models)
    {
        var store = new HostWeightStore(new HostWeightStoreOptions(64L << 20)
        {
            PrepareForDevices = GraphRewrites.ForGpu,
            PinnedCapacityBytes = 64L << 20,
            TransferGroupBytes = GroupBytes,
            LockPages = false,
        });
        foreach (var (name, zoo) in models)
        {
            store.Put(name, ModelZoo.Build(zoo));
        }
        return store;
    }

    public static NamedTensor[] Inputs(string zooModel, int batch = 1, int seed = 1)
    {
        var graph = OnnxGraph.Read(ModelZoo.Build(zooModel));
        var random = new Random(seed);
        return [.. graph.Inputs.Select(input =>
        {
            long[] shape = [.. input.Shape.Select(d => (long)(d ?? batch))];
            var count = (int)shape.Aggregate(1L, (p, d) => p * d);
            if (input.ElementType == ElementType.Fp32)
            {
                var values = Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2 - 1).ToArray();
                return new NamedTensor(input.Name, ElementType.Fp32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
            }
            var isMask = input.Name.Contains("mask", StringComparison.OrdinalIgnoreCase);
            var ids = Enumerable.Range(0, count).Select(i => isMask ? (i % 5 == 4 ? 0L : 1L) : random.NextInt64(0, 100)).ToArray();
            return new NamedTensor(input.Name, input.ElementType, shape, MemoryMarshal.AsBytes(ids.AsSpan()).ToArray());
        })];
    }

    public static string[] Outputs(string zooModel) => [.. OnnxGraph.Read(ModelZoo.Build(zooModel)).Outputs.Select(o => o.Name)];

    public static Dictionary<string, (byte[] Bytes, long[] Shape)> OnnxRuntime(string zooModel, IReadOnlyList<NamedTensor> inputs)
    {
        using var ort = new OrtRunner(ModelZoo.Build(zooModel));
        var values = inputs.ToDictionary(i => i.Name, i => OrtRunner.TensorFromBytes(i.ElementType, i.Data.ToArray(), i.Shape));
        try
        {
            return ort.RunAll(values, Outputs(zooModel));
        }
        finally
        {
            foreach (var value in values.Values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>max |got − want| ≤ 1e-4 × max(1, max |want|), as the engine's parity tests check.</summary>
    public static void AssertMatches(Dictionary<string, (byte[] Bytes, long[] Shape)> expected, IReadOnlyList<NamedTensor> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        foreach (var output in actual)
        {
            var (bytes, shape) = expected[output.Name];
            Assert.Equal(shape, output.Shape);
            var want = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            var got = MemoryMarshal.Cast<byte, float>(output.Data.Span).ToArray();
            Assert.Equal(want.Length, got.Length);
            var scale = Math.Max(1.0, want.Select(v => Math.Abs((double)v)).DefaultIfEmpty(0).Max());
            for (var i = 0; i < want.Length; i++)
            {
                Assert.True(Math.Abs(want[i] - got[i]) / scale <= 1e-4, $"{output.Name}[{i}]: engine {got[i]}, ONNX Runtime {want[i]}");
            }
        }
    }

    public static Task<GpuExecutionDevice> StartAsync(HostWeightStore store, GpuExecutionOptions options) =>
        GpuExecutionDevice.StartAsync("test", GpuDeviceKind.IlgpuCpu, 0, store, options);
}
