using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Simulator;

/// <summary>
/// The full-size zoo models' features as committed in bench/profiles/zoo-features.csv (embedded in this assembly):
/// the evaluation's models, which the simulator's workloads and the roofline stand-in are built from.
/// </summary>
public static class ZooFeatures
{
    /// <summary>Every zoo model's features.</summary>
    public static IReadOnlyList<ModelFeatures> All { get; } = Load();

    private static IReadOnlyList<ModelFeatures> Load()
    {
        using var stream = typeof(ZooFeatures).Assembly.GetManifestResourceStream("OrleansServe.Simulator.zoo-features.csv")
            ?? throw new InvalidOperationException("the zoo features resource is missing from the assembly");
        using var reader = new StreamReader(stream);
        return ModelFeatures.FromCsv(reader.ReadToEnd());
    }
}
