using OrleansServe.Scheduler;

namespace OrleansServe.Simulator.UnitTests;

/// <summary>Latency given by a function of the batch only: the SM share does not matter to these tests.</summary>
internal sealed class BatchLatency(Func<int, double> ms) : ILatencyModel
{
    public double LatencyMs(string model, int partition, int batch) => ms(batch);
}

/// <summary>A fixed slowdown for one (victim, neighbour) pair; 1 otherwise.</summary>
internal sealed class PairInterference(string victim, string neighbour, double slowdown) : IInterferencePredictor
{
    public double Slowdown(string model, int partition, string other, int otherPartition) =>
        model == victim && other == neighbour ? slowdown : 1.0;
}

/// <summary>
/// Stand-in policy: every model gets whole GPUs of its own (as many replicas as the budget shares out evenly), with
/// gpulet's half-SLO batch; models beyond the GPU budget are unscheduled.
/// </summary>
internal sealed class WholeGpuPlanner : IPlanner
{
    public string Name => "whole-gpu";

    public SchedulePlan Plan(IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference)
    {
        var gpus = new List<GpuPlan>();
        var unscheduled = new Dictionary<string, string>();
        var replicas = Math.Max(1, cluster.MaxGpus / Math.Max(1, demands.Count));
        foreach (var demand in demands)
        {
            if (gpus.Count + replicas > cluster.MaxGpus)
            {
                unscheduled[demand.Model.Name] = "no GPU left";
                continue;
            }
            var batch = Enumerable.Range(1, 32).LastOrDefault(b => 2 * latency.LatencyMs(demand.Model.Name, 100, b) <= demand.Model.SloMs, 1);
            var ms = latency.LatencyMs(demand.Model.Name, 100, batch);
            for (var r = 0; r < replicas; r++)
            {
                gpus.Add(new GpuPlan(gpus.Count, [new Gpulet(100, [new GpuletAssignment(demand.Model.Name, batch, ms, ms, demand.RateRps / replicas)])]));
            }
        }
        return new SchedulePlan(Name, gpus, [], unscheduled);
    }
}

internal static class Fixtures
{
    public static ClusterSpec Cluster(int gpus = 1, long memoryBytes = 16L << 30) => new(gpus, memoryBytes, ClusterSpec.GpuletPartitions);

    public static ModelSpec Model(string name, double sloMs, long memoryBytes = 1 << 20, long weightBytes = 1 << 20) =>
        new(name, sloMs, memoryBytes, weightBytes);

    public static GpuletAssignment Assign(string model, int batch = 1, double dutyCycleMs = 0) =>
        new(model, batch, dutyCycleMs, 0, 1);

    public static SchedulePlan OneGpu(params Gpulet[] gpulets) => new("test", [new GpuPlan(0, gpulets)], [], new Dictionary<string, string>());

    public static SimulationInput Trace(SchedulePlan plan, IReadOnlyList<ModelSpec> models, ILatencyModel latency, params (double TimeMs, string Model)[] arrivals) =>
        new(plan, [.. models.Select(m => new ModelDemand(m, 1))], Cluster(), latency, NoInterference.Instance, 1, 1)
        {
            Arrivals = ArrivalKind.Trace,
            Trace = [.. arrivals.Select(a => new TraceArrival(a.TimeMs, a.Model))],
        };

    public static ModelOutcome Outcome(this SimulationResult result, string model) => result.Models.Single(m => m.Model == model);
}
