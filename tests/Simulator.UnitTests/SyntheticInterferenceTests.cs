using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Interference;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Simulator.UnitTests;

/// <summary>The simulator's synthetic interference, and how well the scheduler's regression learns it.</summary>
public sealed class SyntheticInterferenceTests
{
    /// <summary>gpulet's reported accuracy: 90% of cases within this relative error.</summary>
    private const double GpuletP90Error = 0.1026;

    private static readonly InterferenceFeatureSource H100Features = new(
        ZooFeatures.All,
        new RooflineEstimator(DeviceSpec.H100Sxm).Table(ZooFeatures.All, ClusterSpec.GpuletPartitions, RooflineEstimator.ProfiledBatches),
        DeviceSpec.H100Sxm);

    private static IReadOnlyList<CoLocationCase> AllCases =>
        CoLocationCase.ComplementaryPairs(ZooFeatures.All.Select(m => m.Name), ClusterSpec.GpuletPartitions);

    private static (List<CoLocationMeasurement> Training, List<CoLocationMeasurement> HeldOut) Split(IReadOnlyList<CoLocationMeasurement> measurements, int seed)
    {
        var random = new Random(seed);
        var shuffled = measurements.OrderBy(_ => random.Next()).ToList();
        var training = shuffled.Count * 7 / 10;
        return (shuffled[..training], shuffled[training..]);
    }

    [Fact]
    public void Refit_fits_the_earlier_and_the_new_measurements_together()
    {
        var synthetic = new SyntheticInterference(H100Features);
        var (training, heldOut) = Split(synthetic.Measure(AllCases, seed: 7), seed: 8);
        var first = LinearInterferencePredictor.Fit(H100Features, training.Take(20));
        var refitted = first.Refit(training.Skip(20));
        Assert.Equal(training.Count, refitted.Measurements.Count);
        Assert.Equal(20, first.Measurements.Count);
        Assert.Equal(LinearInterferencePredictor.Fit(H100Features, training).Coefficients, refitted.Coefficients);
        Assert.True(refitted.Evaluate(heldOut).P90 <= first.Evaluate(heldOut).P90);
    }

    [Fact]
    public void Ninety_percent_of_held_out_synthetic_cases_are_within_gpulets_reported_error()
    {
        // Pooled over five measurement seeds and splits: one split alone ranges 86–95%, so one seed would pick the verdict.
        var synthetic = new SyntheticInterference(H100Features);
        var errors = new List<double>();
        foreach (var seed in new[] { 1, 3, 5, 7, 9 })
        {
            var (training, heldOut) = Split(synthetic.Measure(AllCases, seed), seed + 1);
            errors.AddRange(LinearInterferencePredictor.RelativeErrors(LinearInterferencePredictor.Fit(H100Features, training), heldOut));
        }
        var within = PredictionErrors.FractionWithin(errors, GpuletP90Error);
        Assert.True(within >= 0.9, $"{within:P1} of {errors.Count} held-out cases within {GpuletP90Error:P2}; errors {PredictionErrors.Of(errors)}");
    }

    [Fact]
    public void Ignoring_interference_misses_the_synthetic_cases()
    {
        var synthetic = new SyntheticInterference(H100Features);
        var measurements = synthetic.Measure(AllCases, seed: 1);
        var within = PredictionErrors.FractionWithin(LinearInterferencePredictor.RelativeErrors(NoInterference.Instance, measurements), GpuletP90Error);
        Assert.True(within < 0.6, $"{within:P1} within {GpuletP90Error:P2} without any interference model");
    }

    [Fact]
    public void Synthetic_measurements_repeat_for_a_seed_and_differ_across_seeds()
    {
        var synthetic = new SyntheticInterference(H100Features);
        var cases = AllCases.Take(30).ToList();
        Assert.Equal(synthetic.Measure(cases, 3), synthetic.Measure(cases, 3));
        Assert.NotEqual(synthetic.Measure(cases, 3), synthetic.Measure(cases, 4));
        var noiseless = new SyntheticInterference(H100Features, new SyntheticInterferenceOptions(Noise: 0));
        Assert.All(noiseless.Measure(cases, 3), m => Assert.Equal(noiseless.TrueSlowdown(m.Model, m.Partition, m.Neighbour, m.NeighbourPartition), m.Slowdown));
    }

    [Fact]
    public void A_memory_hungry_neighbour_slows_a_model_more_than_a_light_one()
    {
        var synthetic = new SyntheticInterference(H100Features, new SyntheticInterferenceOptions(Noise: 0));
        Assert.True(synthetic.TrueSlowdown("resnet50", 50, "mobilenet_v2", 50) > synthetic.TrueSlowdown("resnet50", 50, "lenet5", 50));
        Assert.True(synthetic.TrueSlowdown("resnet50", 50, "lenet5", 50) >= 1);
    }
}
