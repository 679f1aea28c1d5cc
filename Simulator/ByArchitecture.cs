using OrleansServe.Scheduler;

namespace OrleansServe.Simulator;

/// <summary>A latency model asked about copies of a zoo model ("resnet50#17") by their architecture ("resnet50").</summary>
public sealed class ByArchitectureLatency(ILatencyModel inner) : ILatencyModel
{
    public double LatencyMs(string model, int partition, int batch) => inner.LatencyMs(Workloads.ArchitectureOf(model), partition, batch);
}

/// <summary>An interference predictor asked about copies of zoo models by their architectures.</summary>
public sealed class ByArchitectureInterference(IInterferencePredictor inner) : IInterferencePredictor
{
    public double Slowdown(string model, int partition, string neighbour, int neighbourPartition) =>
        inner.Slowdown(Workloads.ArchitectureOf(model), partition, Workloads.ArchitectureOf(neighbour), neighbourPartition);
}
