using System.Diagnostics;
using OrleansServe.Cli.Commands;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Engine.Memory;
using OrleansServe.Onnx;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>One model's swap-in: weights copied host to device in transfer groups, against bytes ÷ bandwidth.</summary>
public sealed record SwapInPoint(string Model, long WeightBytes, int Groups, int Repeats, double MedianMs, double BandwidthGbPerSecond, double ExpectedMs, double Ratio);

/// <summary>
/// First request to a non-resident model at one batch size: pipelined swap-in, transfer-then-run, and warm.
/// Compute-bound models (warm ≥ transfer) meet the goal at cold/warm ≤ 1.15; transfer-bound ones at cold ≤ 1.1 × transfer.
/// </summary>
public sealed record ColdStartPoint(
    string Model, int Batch, double WarmMs, double PipelinedColdMs, double TransferThenRunColdMs, double TransferMs,
    double ColdOverWarm, double ColdOverTransfer, string Regime, bool GoalMet);

/// <summary>A model's slowdown on its gpulet while a neighbour runs on the complementary one.</summary>
public sealed record PairPoint(string Model, int Partition, string Neighbour, int NeighbourPartition, int Batch, double SoloMs, double CoLocatedMs, double Slowdown);

/// <summary>A model of the benchmark: its file, its graph (for inputs and outputs) and its name.</summary>
public sealed record BenchModel(string Name, byte[] Onnx, OnnxGraph Graph);

/// <summary>
/// The swapping and gpulet measurements on one device (issue 5): swap-in time per model, cold-start latency
/// pipelined against transfer-then-run against warm, latency by SM share and batch (the profile table the scheduler
/// consumes), and pairwise slowdown on complementary gpulets (the interference regression's training data).
/// Everything runs through <see cref="GpuExecutionDevice"/>, the code the server runs.
/// </summary>
public sealed class SwapMeasurements : DeviceBench
{
    private readonly HostWeightStore store;

    private SwapMeasurements(HostWeightStore store, GpuExecutionDevice device, IReadOnlyList<BenchModel> models)
        : base(device, models)
    {
        this.store = store;
        Gpu = device;
    }

    /// <summary>The GPU-engine device under measurement.</summary>
    public GpuExecutionDevice Gpu { get; }

    /// <summary>Starts a device and packs every model's weights into pinned host memory in transfer groups.</summary>
    /// <param name="registrar">Registers the pinned weights with the driver; on CUDA the device's own when null, none elsewhere.</param>
    public static async Task<SwapMeasurements> StartAsync(
        GpuDeviceKind kind, IReadOnlyList<BenchModel> models, SwapMode mode, long reservedBytes, long transferGroupBytes, IHostMemoryRegistrar? registrar = null)
    {
        var total = models.Sum(m => m.Onnx.LongLength);
        Action? bind = null;
        var store = new HostWeightStore(new HostWeightStoreOptions(2 * total + (64L << 20))
        {
            PinnedCapacityBytes = 2 * total + (64L << 20),
            TransferGroupBytes = transferGroupBytes,
            PrepareForDevices = GraphRewrites.ForGpu,
            Registrar = registrar ?? (kind == GpuDeviceKind.Cuda ? new CudaHostRegistrar(null, () => bind?.Invoke()) : null),
        });
        var device = await GpuExecutionDevice.StartAsync("gpu0", kind, 0, store, new GpuExecutionOptions { SwapMode = mode, ReservedBytes = reservedBytes });
        bind = device.BindCurrentThread;
        foreach (var model in models)
        {
            store.Put(model.Name, model.Onnx);
            if (store.PackingFailure(model.Name) is { } failure)
            {
                device.Dispose();
                throw new ModelPlanException($"model '{model.Name}' cannot be packed for the device: {failure}");
            }
        }
        return new SwapMeasurements(store, device, models);
    }

    /// <summary>Swap-in time per model (median of <paramref name="repeats"/>, after one untimed swap-in), against bytes ÷ bandwidth.</summary>
    public async Task<List<SwapInPoint>> SwapInAsync(int repeats, double bandwidthGbPerSecond, Func<bool> timeLeft)
    {
        var points = new List<SwapInPoint>();
        foreach (var model in Models)
        {
            if (!timeLeft())
            {
                break;
            }
            store.TryGetPacked(model.Name, out var packed);
            await SwapInOnceAsync(model.Name);
            var times = new double[repeats];
            for (var i = 0; i < repeats; i++)
            {
                times[i] = await SwapInOnceAsync(model.Name);
            }
            var median = Median(times);
            var expected = packed!.Layout.TotalBytes / (bandwidthGbPerSecond * 1e9) * 1e3;
            points.Add(new SwapInPoint(model.Name, packed.Layout.TotalBytes, packed.Layout.Groups.Count, repeats, median, bandwidthGbPerSecond, expected, median / expected));
        }
        return points;
    }

    /// <summary>Evicts the model, then times a swap-in until its last transfer group has landed.</summary>
    public async Task<double> SwapInOnceAsync(string model)
    {
        await EvictAsync(model);
        var start = Stopwatch.GetTimestamp();
        await Device.EnsureResidentAsync(model);
        var transfer = Gpu.Gpulets.Select(g => g.Resident(model)?.Transfer).FirstOrDefault(t => t is not null);
        if (transfer is not null)
        {
            await transfer.Completion;
        }
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>Median latency of a first batch to the model after it was evicted (swap-in, planning and the forward pass).</summary>
    public async Task<double> ColdAsync(string model, int batch, int repeats)
    {
        var (data, outputs) = InputsFor(model, batch);
        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            await EvictAsync(model);
            var start = Stopwatch.GetTimestamp();
            await Device.RunAsync(model, data, outputs);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return Median(times);
    }

    /// <summary>
    /// For every ordered pair (every ordered pair of the models when <paramref name="pairs"/> is null) and every split:
    /// the first model's latency on its gpulet alone, and while the second runs back to back on the complementary gpulet.
    /// </summary>
    public async Task<List<PairPoint>> PairsAsync(
        IReadOnlyList<(int Own, int Neighbour)> splits, int batch, int repeats, Func<bool> timeLeft, Action<PairPoint> progress,
        IReadOnlyList<(string Model, string Neighbour)>? pairs = null)
    {
        var points = new List<PairPoint>();
        var ordered = pairs?.Select(p => (Resolve(p.Model), Resolve(p.Neighbour))).ToList()
            ?? [.. Models.SelectMany(m => Models.Select(n => (m, n)))];
        foreach (var (own, other) in splits)
        {
            foreach (var (model, neighbour) in ordered)
            {
                if (!timeLeft())
                {
                    await Device.RepartitionAsync(PartitionSpec.WholeDevice);
                    return points;
                }
                // The neighbour gets its own name on the second gpulet, so a model can be paired with itself.
                await Device.RepartitionAsync([new PartitionSpec(own, [model.Name]), new PartitionSpec(other, [neighbour.Name == model.Name ? Twin(neighbour.Name) : neighbour.Name])]);
                var neighbourName = neighbour.Name == model.Name ? EnsureTwin(neighbour) : neighbour.Name;
                var solo = await WarmAsync(model.Name, batch, repeats);
                using var stop = new CancellationTokenSource();
                var (data, outputs) = InputsFor(neighbourName, batch);
                await Device.RunAsync(neighbourName, data, outputs);
                var load = Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        await Device.RunAsync(neighbourName, data, outputs);
                    }
                });
                var together = await WarmAsync(model.Name, batch, repeats);
                await stop.CancelAsync();
                await load;
                var point = new PairPoint(model.Name, own, neighbour.Name, other, batch, solo, together, together / solo);
                points.Add(point);
                progress(point);
            }
        }
        await Device.RepartitionAsync(PartitionSpec.WholeDevice);
        return points;
    }

    private static string Twin(string model) => model + "#twin";

    private string EnsureTwin(BenchModel model)
    {
        var twin = Twin(model.Name);
        if (!store.TryGet(twin, out _))
        {
            store.Put(twin, model.Onnx);
        }
        return twin;
    }

    private async Task EvictAsync(string model)
    {
        // A batch that just finished may still pin it for a moment on another thread; eviction is then retried.
        for (var attempt = 0; Device.Snapshot().Resident.Any(r => r.Model == model); attempt++)
        {
            if (!Device.Evict(model) && attempt > 1000)
            {
                throw new InvalidOperationException($"model '{model}' stays pinned on the device");
            }
            await Task.Yield();
        }
    }

    /// <summary>A model's twin (the second name a model is paired with itself under) is the model.</summary>
    protected override BenchModel Resolve(string model) => Models.First(m => m.Name == model || Twin(m.Name) == model);

    /// <inheritdoc />
    public override void Dispose()
    {
        // The weights leave the host store while the device (and its context) is alive: their registrations are
        // released through it. The device goes after.
        foreach (var model in Models)
        {
            store.Remove(model.Name);
            store.Remove(Twin(model.Name));
        }
        base.Dispose();
    }
}
