using OrleansServe.Scheduler.UnitTests.Profiles;

namespace OrleansServe.Scheduler.UnitTests.Interference;

public sealed class InterferenceTests
{
    private static readonly InterferenceFeatureSource H100Features = new(Zoo.Features, Zoo.H100Table(), DeviceSpec.H100Sxm);

    /// <summary>Every ordered pair of zoo models on complementary partitions p / 100 − p.</summary>
    private static IEnumerable<(string Model, int Partition, string Neighbour, int NeighbourPartition)> AllCases =>
        from model in Zoo.Features
        from neighbour in Zoo.Features
        from partition in ClusterSpec.GpuletPartitions.Where(p => p < 100)
        select (model.Name, partition, neighbour.Name, 100 - partition);

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
