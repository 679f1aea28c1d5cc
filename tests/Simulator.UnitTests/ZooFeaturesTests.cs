using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Simulator.UnitTests;

/// <summary>The evaluation's zoo as the simulator holds it: features and published SLOs.</summary>
public sealed class ZooFeaturesTests
{
    [Fact]
    public void Every_zoo_slo_allows_batch_1_on_a_full_h100_under_the_half_slo_rule_with_margin()
    {
        var estimator = new RooflineEstimator(DeviceSpec.H100Sxm);
        Assert.All(ZooFeatures.All, m => Assert.True(
            2 * 1.1 * estimator.LatencyMs(m, 100, 1) <= PublishedSlos.Ms[m.Name],
            $"{m.Name}: {estimator.LatencyMs(m, 100, 1):F2} ms at batch 1 against an SLO of {PublishedSlos.Ms[m.Name]} ms"));
    }

    [Fact]
    public void The_features_file_holds_the_eleven_zoo_models_with_their_layer_counts()
    {
        Assert.Equal(11, ZooFeatures.All.Count);
        Assert.Equal(PublishedSlos.Ms.Keys.Order(), ZooFeatures.All.Select(m => m.Name).Order());
        Assert.All(ZooFeatures.All, m => Assert.True(m.Layers > 0 && m.FlopsPerItem > 0 && m.WeightBytes > 0, m.Name));
        Assert.Equal(72, ZooFeatures.All.Single(m => m.Name == "resnet50").Layers);
    }
}
