using OrleansServe.Scheduler.UnitTests.Profiles;

namespace OrleansServe.Scheduler.UnitTests.Interference;

public sealed class InterferenceTests
{
    /// <summary>gpulet's reported accuracy: 90% of cases within this relative error.</summary>
    private const double GpuletP90Error = 0.1026;

    private static readonly InterferenceFeatureSource H100Features = new(Zoo.Features, Zoo.H100Table(), DeviceSpec.H100Sxm);

    private static IReadOnlyList<CoLocationCase> AllCases =>
        CoLocationCase.ComplementaryPairs(Zoo.Features.Select(m => m.Name), ClusterSpec.GpuletPartitions);

    private static (List<CoLocationMeasurement> Training, List<CoLocationMeasurement> HeldOut) Split(IReadOnlyList<CoLocationMeasurement> measurements, int seed)
    {
        var random = new Random(seed);
        var shuffled = measurements.OrderBy(_ => random.Next()).ToList();
        var training = shuffled.Count * 7 / 10;
        return (shuffled[..training], shuffled[training..]);
    }

    [Fact]
    public void Features_follow_from_flops_bytes_and_solo_latency()
    {
        var resnet = Zoo.Model("resnet50");
        var f = H100Features.For("resnet50", 20);
        var seconds = Zoo.H100Table().LatencyMs("resnet50", 20, 8) / 1e3;
        var flops = resnet.FlopsPerItem * 8;
        var bytes = resnet.WeightBytes + 8.0 * resnet.ActivationBytesPerItem;
        Assert.Equal(seconds * 1e3, f.SoloLatencyMs, 9);
        Assert.Equal(flops / bytes, f.ComputeIntensity, 9);
        Assert.Equal(flops / (seconds * 67e12 * 0.2), f.ComputeUtilisation, 9);
        Assert.Equal(bytes / (seconds * 3.35e12 * 0.4), f.MemoryUtilisation, 9);
        Assert.Equal(f.ComputeUtilisation * 0.2, f.ComputeFraction, 9);
        Assert.Equal(f.MemoryUtilisation * 0.4, f.MemoryFraction, 9);
        Assert.Throws<UnknownModelException>(() => H100Features.For("alexnet", 50));
    }

    [Fact]
    public void Fit_recovers_the_coefficients_of_a_linear_ground_truth()
    {
        var truth = new InterferenceCoefficients(0.4, 1.1, 0.2, 0.3, 0.95);
        var exact = new LinearInterferencePredictor(H100Features, truth);
        var measurements = AllCases.Select(c => new CoLocationMeasurement(c.Model, c.Partition, c.Neighbour, c.NeighbourPartition,
            exact.Unclamped(c.Model, c.Partition, c.Neighbour, c.NeighbourPartition))).ToList();
        var fitted = LinearInterferencePredictor.Fit(H100Features, measurements).Coefficients;
        Assert.Equal(truth.MemSelf, fitted.MemSelf, 6);
        Assert.Equal(truth.MemOther, fitted.MemOther, 6);
        Assert.Equal(truth.CompSelf, fitted.CompSelf, 6);
        Assert.Equal(truth.CompOther, fitted.CompOther, 6);
        Assert.Equal(truth.Constant, fitted.Constant, 6);
    }

    [Fact]
    public void A_predicted_slowdown_is_never_below_one()
    {
        var speedUp = new LinearInterferencePredictor(H100Features, new InterferenceCoefficients(-1, -1, -1, -1, 0.9));
        Assert.True(speedUp.Unclamped("resnet50", 50, "vgg16", 50) < 1);
        Assert.Equal(1.0, speedUp.Slowdown("resnet50", 50, "vgg16", 50));
    }

    [Fact]
    public void A_fit_needs_at_least_five_positive_measurements()
    {
        var four = Enumerable.Repeat(new CoLocationMeasurement("resnet50", 50, "vgg16", 50, 1.1), 4);
        Assert.Throws<ArgumentException>(() => LinearInterferencePredictor.Fit(H100Features, four));
        var negative = four.Append(new CoLocationMeasurement("resnet50", 50, "vgg16", 50, -1));
        Assert.Throws<ArgumentException>(() => LinearInterferencePredictor.Fit(H100Features, negative));
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

    [Fact]
    public void Errors_are_summarised_by_nearest_rank_percentiles()
    {
        var errors = PredictionErrors.Of(Enumerable.Range(1, 100).Select(i => i / 100.0).Reverse());
        Assert.Equal(new PredictionErrors(100, 0.505, 0.50, 0.90, 0.95, 1.0), errors with { Mean = Math.Round(errors.Mean, 9) });
        Assert.Equal(0.9, PredictionErrors.FractionWithin(Enumerable.Range(1, 100).Select(i => i / 100.0), 0.9), 9);
        Assert.Throws<ArgumentException>(() => PredictionErrors.Of([]));
    }

    [Fact]
    public void Gpulets_published_model_uses_the_memory_fraction_for_both_l2_and_dram()
    {
        var predictor = new GpuletPublishedInterference(H100Features);
        var self = H100Features.For("mobilenet_v2", 80).MemoryFraction;
        var other = H100Features.For("mnasnet1_0", 20).MemoryFraction;
        var expected = Math.Max(1, (0.1129 + 0.3549) * self + (0.7160 + 0.0882) * other + 0.8954);
        Assert.Equal(expected, predictor.Slowdown("mobilenet_v2", 80, "mnasnet1_0", 20), 12);
        var rtx3080 = new GpuletPublishedInterference(H100Features, GpuletCoefficients.Rtx3080);
        // Its memory terms sum negative, so a light pair sits just under its constant.
        Assert.InRange(rtx3080.Slowdown("lenet5", 50, "lenet5", 50), 1.0, 1.0184);
    }
}
