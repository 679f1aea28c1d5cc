using System.Diagnostics;
using OrleansServe.Cli.Commands;
using OrleansServe.Cli.Inference;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Engine.OnnxRuntime;
using OrleansServe.Onnx;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>
/// A real <see cref="CpuDevice"/> with the benchmark's models in its host weight store, and seeded inputs for every
/// batch size: what <c>profile --device cpu</c> and <c>cpu-compare</c> measure on. Everything runs through the code the
/// server runs (gpulets as shares of the cores, ONNX Runtime sessions as residency).
/// </summary>
public sealed class CpuBench : DeviceBench
{
    private CpuBench(CpuDevice device, IReadOnlyList<BenchModel> models, int cores)
        : base(device, models) => Cores = cores;

    /// <summary>Cores the device splits among its gpulets.</summary>
    public int Cores { get; }

    /// <summary>The device type as a profile row names it: "cpu-&lt;cores&gt;c".</summary>
    public string DeviceType => $"cpu-{Cores}c";

    /// <summary>Reads the models (files, sample-zoo or zoo names) and starts a CPU device of <paramref name="cores"/> cores.</summary>
    /// <exception cref="ArgumentException">A model is neither a file nor a zoo model, or a name repeats.</exception>
    public static CpuBench Start(IReadOnlyList<string> modelArguments, int cores)
    {
        var models = modelArguments.Select(argument =>
        {
            var (bytes, name) = ModelSource.Read(argument);
            return new BenchModel(name, bytes, OnnxGraph.Read(bytes));
        }).ToList();
        if (models.GroupBy(m => m.Name).FirstOrDefault(g => g.Count() > 1) is { } repeated)
        {
            throw new ArgumentException($"model '{repeated.Key}' is named twice");
        }
        var total = models.Sum(m => m.Onnx.LongLength);
        var store = new HostWeightStore(2 * total + (64L << 20));
        foreach (var model in models)
        {
            store.Put(model.Name, model.Onnx);
        }
        var device = new CpuDevice("cpu0", new CpuDeviceOptions { Cores = cores }, store);
        return new CpuBench(device, models, cores);
    }

    /// <summary>The model of that name.</summary>
    public BenchModel Model(string name) => Resolve(name);

    /// <summary>Latency by core share and batch, as profile rows of this device type (see <see cref="DeviceBench.ShareAsync"/>).</summary>
    public Task<List<ProfileRow>> ShareAsync(IReadOnlyList<int> partitions, IReadOnlyList<int> batches, int repeats, Func<bool> timeLeft, Action<ProfileRow> progress) =>
        ShareAsync(partitions, batches, repeats, DeviceType, timeLeft, progress);
}
