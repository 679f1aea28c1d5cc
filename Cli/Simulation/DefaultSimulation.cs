using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Interference;
using OrleansServe.Scheduler.Planning;
using OrleansServe.Scheduler.Profiles;
using OrleansServe.Simulator;

namespace OrleansServe.Cli.Simulation;

/// <summary>
/// What `simulate` runs with: the four planners, latencies from the H100 roofline estimate of the zoo (or a
/// profile CSV), and interference from a synthetic contention model that the planners only know through a linear
/// regression fitted to measurements of it (so planning sees prediction error, as it would on hardware).
/// </summary>
public static class DefaultSimulation
{
    /// <summary>Seed of the synthetic co-location measurements the regression is fitted to.</summary>
    private const int MeasurementSeed = 7;

    public static DeviceSpec Device => DeviceSpec.H100Sxm;

    /// <summary>Sets the latency model factory (idempotent); the planners come from their catalogue.</summary>
    public static void Register()
    {
        SimulationPolicies.LatencyModelFactory = path => new ByArchitectureLatency(path is null ? RooflineTable() : ProfileTable.FromCsv(File.ReadAllText(path)));
    }

    /// <summary>The roofline estimate of every zoo model on the gpulet partitions and profiled batches.</summary>
    public static ProfileTable RooflineTable() =>
        new RooflineEstimator(Device).Table(ZooFeatures.All, ClusterSpec.GpuletPartitions, RooflineEstimator.ProfiledBatches);

    /// <summary>The planners' predictor and the simulation's actual interference, for the given mode.</summary>
    /// <param name="mode">"none" (no interference anywhere) or "synthetic".</param>
    public static (IInterferencePredictor Predicted, IInterferencePredictor Actual) Interference(string mode, ILatencyModel latency)
    {
        if (mode == "none")
        {
            return (NoInterference.Instance, NoInterference.Instance);
        }
        var features = new InterferenceFeatureSource(ZooFeatures.All, latency, Device);
        var truth = new SyntheticInterference(features);
        var cases = CoLocationCase.ComplementaryPairs(ZooFeatures.All.Select(m => m.Name), ClusterSpec.GpuletPartitions);
        var predictor = LinearInterferencePredictor.Fit(features, truth.Measure(cases, MeasurementSeed));
        return (new ByArchitectureInterference(predictor), new ByArchitectureInterference(truth));
    }
}
