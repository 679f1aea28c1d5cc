namespace OrleansServe.Scheduler.UnitTests.Planning;

/// <summary>
/// A latency model simple enough to plan by hand: L(b, p) = (c0 + c1·b) · 100 / min(p, saturation), so a model runs
/// proportionally faster with more SMs until its saturation share, and no faster after.
/// </summary>
public sealed class AnalyticLatency : ILatencyModel
{
    private readonly Dictionary<string, (double C0, double C1, int Saturation)> models = [];

    public AnalyticLatency With(string model, double c0, double c1, int saturation = 100)
    {
        models[model] = (c0, c1, saturation);
        return this;
    }

    public double LatencyMs(string model, int partition, int batch)
    {
        var (c0, c1, saturation) = models[model];
        return (c0 + (c1 * batch)) * 100.0 / Math.Min(partition, saturation);
    }
}

/// <summary>Slowdowns given per (model, neighbour) pair; 1 otherwise.</summary>
public sealed class TableInterference(Dictionary<(string Model, string Neighbour), double> slowdowns) : IInterferencePredictor
{
    public double Slowdown(string model, int partition, string neighbour, int neighbourPartition) =>
        slowdowns.GetValueOrDefault((model, neighbour), 1.0);
}

internal static class Fixtures
{
    public const long GiB = 1L << 30;

    /// <summary>No margin or overhead, so the expected plans follow from the latency formula alone.</summary>
    public static PlannerOptions Exact { get; } = new() { LatencyMargin = 1.0 };

    public static ModelSpec Model(string name, double sloMs, long memoryBytes = GiB, long weightBytes = 120_000_000) =>
        new(name, sloMs, memoryBytes, weightBytes);

    public static ClusterSpec Cluster(int gpus, long memoryBytes = 16 * GiB, int maxGpulets = 2) =>
        new(gpus, memoryBytes, ClusterSpec.GpuletPartitions, maxGpulets);

    public static IEnumerable<GpuletAssignment> Assignments(this SchedulePlan plan, string model) =>
        plan.Gpus.SelectMany(g => g.Gpulets).SelectMany(g => g.Models).Where(a => a.Model == model);

    public static void AssertClose(GpuletAssignment expected, GpuletAssignment actual)
    {
        Assert.Equal(expected.Model, actual.Model);
        Assert.Equal(expected.Batch, actual.Batch);
        Assert.Equal(expected.DutyCycleMs, actual.DutyCycleMs, 9);
        Assert.Equal(expected.LatencyMs, actual.LatencyMs, 9);
        Assert.Equal(expected.RateRps, actual.RateRps, 9);
    }

    public static void AssertValid(
        SchedulePlan plan, IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor? interference = null)
    {
        var violations = PlanValidator.Validate(plan, demands, cluster, latency, interference ?? NoInterference.Instance);
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations) + Environment.NewLine + PlanJson.Serialize(plan));
    }
}
