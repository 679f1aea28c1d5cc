namespace OrleansServe.Scheduler.UnitTests.Profiles;

/// <summary>The zoo's features and the files under bench/profiles, found from the test's output folder.</summary>
internal static class Zoo
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string ProfilesFolder => Path.Combine(RepositoryRoot, "bench", "profiles");

    public static IReadOnlyList<ModelFeatures> Features { get; } = ModelFeatures.Load(Path.Combine(ProfilesFolder, "zoo-features.csv"));

    public static ModelFeatures Model(string name) => Features.Single(m => m.Name == name);

    /// <summary>The committed H100 table's content: the roofline estimate of every zoo model on gpulet's partitions and profiled batches.</summary>
    public static ProfileTable H100Table() =>
        new RooflineEstimator(DeviceSpec.H100Sxm).Table(Features, ClusterSpec.GpuletPartitions, RooflineEstimator.ProfiledBatches);

    private static string FindRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "OrleansServe.sln")))
            {
                return folder.FullName;
            }
        }
        throw new InvalidOperationException("OrleansServe.sln not found above the test's folder");
    }
}
