using System.Diagnostics;
using OrleansServe.Cli.Commands;
using OrleansServe.Engine.Execution;
using OrleansServe.Scheduler.Profiles;
using OrleansServe.Scheduler.Runtime;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>
/// A device of the server (the CPU device, or a GPU-engine device) with the benchmark's models, and what every
/// measurement on it shares: seeded inputs per model and batch, warm latency, and latency by compute share and batch
/// as profile rows.
/// </summary>
public abstract class DeviceBench(IExecutionDevice device, IReadOnlyList<BenchModel> models) : IDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<(string, int), NamedTensor[]> inputs = [];

    /// <summary>The device under measurement.</summary>
    public IExecutionDevice Device { get; } = device;

    /// <summary>The models, in the order given.</summary>
    public IReadOnlyList<BenchModel> Models { get; } = models;

    /// <summary>The model a name stands for (a bench may serve one model under a second name).</summary>
    protected virtual BenchModel Resolve(string model) =>
        Models.FirstOrDefault(m => m.Name == model) ?? throw new ArgumentException($"model '{model}' is not in this benchmark", nameof(model));

    /// <summary>Seeded inputs of a model at a batch size (made once, then shared) and its output names.</summary>
    public (NamedTensor[] Data, string[] Outputs) InputsFor(string model, int batch)
    {
        var source = Resolve(model);
        lock (gate)
        {
            if (!inputs.TryGetValue((source.Name, batch), out var data))
            {
                inputs[(source.Name, batch)] = data = BenchCommand.SyntheticInputs(source.Graph, batch);
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
    /// Latency by compute share and batch, as measured profile rows of <paramref name="deviceType"/>: the device is split
    /// into one gpulet of each share in turn (the rest idle) and every model is timed at every batch on it. Restores
    /// the whole device at the end.
    /// </summary>
    public async Task<List<ProfileRow>> ShareAsync(
        IReadOnlyList<int> partitions, IReadOnlyList<int> batches, int repeats, string deviceType, Func<bool> timeLeft, Action<ProfileRow> progress)
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
                        var row = new ProfileRow(model.Name, partition, batch, await WarmAsync(model.Name, batch, repeats), deviceType, ProfileSource.Measured);
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
    public static double Median(IReadOnlyList<double> values) => Percentiles.Median(values);

    /// <inheritdoc />
    public virtual void Dispose()
    {
        Device.Dispose();
        GC.SuppressFinalize(this);
    }
}
