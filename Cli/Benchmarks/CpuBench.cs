using System.Diagnostics;
using OrleansServe.Cli.Commands;
using OrleansServe.Cli.Inference;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Planning;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>
/// A real <see cref="CpuDevice"/> with the benchmark's models in its host weight store, and seeded inputs for every
/// batch size: what <c>profile --device cpu</c> and <c>cpu-compare</c> measure on. Everything runs through the code the
/// server runs (gpulets as shares of the cores, ONNX Runtime sessions as residency).
/// </summary>
public sealed class CpuBench : IDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string, int), NamedTensor[]> inputs = [];
    private readonly Dictionary<string, BenchModel> models;

    private CpuBench(CpuDevice device, IReadOnlyList<BenchModel> models, int cores)
    {
        Device = device;
        Models = models;
        Cores = cores;
        this.models = models.ToDictionary(m => m.Name, StringComparer.Ordinal);
    }

    /// <summary>The device under measurement.</summary>
    public CpuDevice Device { get; }

    /// <summary>The models, in the order given.</summary>
    public IReadOnlyList<BenchModel> Models { get; }

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
    public BenchModel Model(string name) => models[name];

    /// <summary>Seeded inputs of a model at a batch size (made once, then shared) and its output names.</summary>
    public (NamedTensor[] Data, string[] Outputs) InputsFor(string model, int batch)
    {
        var source = models[model];
        lock (gate)
        {
            if (!inputs.TryGetValue((model, batch), out var data))
            {
                inputs[(model, batch)] = data = BenchCommand.SyntheticInputs(source.Graph, batch);
            }
            return (data, [.. source.Graph.Outputs.Select(o => o.Name)]);
        }
    }

    /// <summary>Median latency of <paramref name="repeats"/> warm batches (after one untimed batch that swaps the model in).</summary>
    public async Task<double> WarmAsync(string model, int batch, int repeats)
    {
        var (data, outputs) = InputsFor(model, batch);
        await Device.RunAsync(model, data, outputs);
        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await Device.RunAsync(model, data, outputs);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return Median(times);
    }

    /// <summary>
    /// Latency by compute share and batch, as profile rows: the device is split into one gpulet of each share in
    /// turn (the rest of the cores idle), and every model is timed at every batch size on it. Restores the whole
    /// device at the end.
    /// </summary>
    public async Task<List<ProfileRow>> ShareAsync(IReadOnlyList<int> partitions, IReadOnlyList<int> batches, int repeats, Func<bool> timeLeft, Action<ProfileRow> progress)
    {
        var rows = new List<ProfileRow>();
        try
        {
            foreach (var partition in partitions)
            {
                await Device.RepartitionAsync([new PartitionSpec(partition, [])]);
                foreach (var model in Models)
                {
                    foreach (var batch in batches)
                    {
                        if (!timeLeft())
                        {
                            return rows;
                        }
                        var row = new ProfileRow(model.Name, partition, batch, await WarmAsync(model.Name, batch, repeats), DeviceType, ProfileSource.Measured);
                        rows.Add(row);
                        progress(row);
                    }
                }
            }
            return rows;
        }
        finally
        {
            await Device.RepartitionAsync(PartitionSpec.WholeDevice);
        }
    }

    /// <summary>The median of a non-empty sample.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <inheritdoc />
    public void Dispose() => Device.Dispose();
}
