using MathNet.Numerics.Distributions;
using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Interference;

namespace OrleansServe.Simulator;

/// <summary>A co-location to measure: a model on a partition beside a neighbour on another.</summary>
public sealed record CoLocationCase(string Model, int Partition, string Neighbour, int NeighbourPartition)
{
    /// <summary>Every ordered pair of models (a model beside a copy of itself included) on complementary partitions p / 100 − p.</summary>
    public static IReadOnlyList<CoLocationCase> ComplementaryPairs(IEnumerable<string> models, IEnumerable<int> partitions)
    {
        var names = models.ToList();
        return [.. from p in partitions.Where(p => p < 100)
                   from model in names
                   from neighbour in names
                   select new CoLocationCase(model, p, neighbour, 100 - p)];
    }
}

/// <summary>
/// Parameters of <see cref="SyntheticInterference"/>'s ground truth. The defaults give slowdowns of 1.13 median,
/// 1.33 at the 90th percentile and 2.2 at most over the zoo's complementary pairs on the H100 roofline table, with
/// 4% measurement noise: enough that ignoring interference misses by 25% at p90, and nonlinear enough that the
/// linear model's held-out error lands near gpulet's reported accuracy rather than far below it.
/// </summary>
/// <param name="TrafficMultiplier">True DRAM traffic over the estimated bytes (re-reads, L2 misses the estimate does not see).</param>
/// <param name="MemoryContention">Weight of the neighbour's traffic on the model's memory stalls.</param>
/// <param name="MemoryStallFloor">Memory stalls a model has even with little traffic of its own (latency-bound loads).</param>
/// <param name="MaxBusLoad">Cap on the summed bus load in the queueing term (keeps it finite).</param>
/// <param name="ComputeContention">Slowdown from two busy SM groups sharing L2, clocks and power, on the product of their compute fractions.</param>
/// <param name="Noise">Standard deviation of the log-normal measurement noise.</param>
public sealed record SyntheticInterferenceOptions(
    double TrafficMultiplier = 4,
    double MemoryContention = 1.0,
    double MemoryStallFloor = 0.3,
    double MaxBusLoad = 0.9,
    double ComputeContention = 2.5,
    double Noise = 0.04);

/// <summary>
/// A stand-in for GPU co-location measurements until there are real ones: a documented nonlinear contention model
/// the linear predictor cannot represent exactly, plus seeded noise. With u = traffic multiplier × memory fraction
/// of each model, slowdown = 1 + k_m · u_other · (floor + u_self) / (1 − min(cap, u_self + u_other))
/// + k_c · comp_self · comp_other, times exp(N(0, noise)): the neighbour's traffic queues on the shared memory bus
/// (an M/M/1-like 1 / (1 − load) term) and hurts more the more the model itself waits on memory; busy SM groups
/// also contend for L2, clocks and power.
/// </summary>
public sealed class SyntheticInterference(InterferenceFeatureSource features, SyntheticInterferenceOptions? options = null) : IInterferencePredictor
{
    public SyntheticInterferenceOptions Options { get; } = options ?? new SyntheticInterferenceOptions();

    /// <summary>The noiseless ground truth.</summary>
    public double TrueSlowdown(string model, int partition, string neighbour, int neighbourPartition)
    {
        var self = features.For(model, partition);
        var other = features.For(neighbour, neighbourPartition);
        var o = Options;
        var uSelf = o.TrafficMultiplier * self.MemoryFraction;
        var uOther = o.TrafficMultiplier * other.MemoryFraction;
        var busLoad = Math.Min(o.MaxBusLoad, uSelf + uOther);
        return 1 + o.MemoryContention * uOther * (o.MemoryStallFloor + uSelf) / (1 - busLoad)
                 + o.ComputeContention * self.ComputeFraction * other.ComputeFraction;
    }

    /// <summary>The ground truth as a predictor: what a simulated GPU does.</summary>
    public double Slowdown(string model, int partition, string neighbour, int neighbourPartition) =>
        TrueSlowdown(model, partition, neighbour, neighbourPartition);

    /// <summary>"Measures" each case: the ground truth with log-normal noise from a generator seeded with <paramref name="seed"/>.</summary>
    public IReadOnlyList<CoLocationMeasurement> Measure(IEnumerable<CoLocationCase> cases, int seed)
    {
        var random = new Random(seed);
        return [.. cases.Select(c => new CoLocationMeasurement(
            c.Model, c.Partition, c.Neighbour, c.NeighbourPartition,
            TrueSlowdown(c.Model, c.Partition, c.Neighbour, c.NeighbourPartition) * Math.Exp(Normal.Sample(random, 0, Options.Noise))))];
    }
}
