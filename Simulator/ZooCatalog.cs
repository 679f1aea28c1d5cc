using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Simulator;

/// <summary>
/// The zoo architectures the workloads draw from: the engine's graph-analysis features (bench/profiles/zoo-features.csv,
/// embedded in the scheduler library) with the papers' SLOs (gpulet's, and Torpor's 80 ms for ResNet-152 and Inception-v3).
/// </summary>
internal static class ZooCatalog
{
    public static readonly Architecture[] All =
    [
        .. ZooFeatures.All.Select(f => new Architecture(f.Name, PublishedSlos.Ms[f.Name], f.FlopsPerItem, f.WeightBytes, f.ActivationBytesPerItem, f.WorkspaceBytesBatch1)),
    ];

    public static Architecture? Find(string architecture) => All.FirstOrDefault(a => a.Name == architecture);

    public sealed record Architecture(string Name, double SloMs, double FlopsPerItem, long WeightBytes, long ActivationBytesPerItem, long WorkspaceBatch1);
}
