using System.Collections.Concurrent;
using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Simulator;

/// <summary>
/// The planners and latency model a simulation run can name. The simulator does not reference the planners, so a
/// host (the CLI) registers the ones it is built with; a name with no registration is reported, not guessed.
/// </summary>
public static class SimulationPolicies
{
    private static readonly ConcurrentDictionary<string, IPlanner> Planners = new(StringComparer.Ordinal);

    /// <summary>
    /// Makes the latency model for a run from an optional profile CSV path. The default reads the CSV with
    /// <see cref="ProfileTable"/> (the scheduler's own reader), or without one falls back to the <see cref="AnalyticLatencyModel"/> stand-in.
    /// </summary>
    public static Func<string?, ILatencyModel> LatencyModelFactory { get; set; } = DefaultLatencyModel;

    /// <summary>Makes the interference predictor for a run from the latency model; by default no interference.</summary>
    public static Func<ILatencyModel, IInterferencePredictor> InterferenceFactory { get; set; } = _ => NoInterference.Instance;

    /// <summary>The names of the registered planners, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. Planners.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Registers (or replaces) a planner under its <see cref="IPlanner.Name"/>.</summary>
    public static void Register(IPlanner planner) => Planners[planner.Name] = planner;

    /// <summary>The planner registered under <paramref name="name"/>, if any.</summary>
    public static bool TryGet(string name, out IPlanner planner) => Planners.TryGetValue(name, out planner!);

    /// <summary>The planner registered under <paramref name="name"/>; throws with the message the CLI shows otherwise.</summary>
    public static IPlanner Get(string name) =>
        TryGet(name, out var planner)
            ? planner
            : throw new KeyNotFoundException($"policy '{name}' is not available in this build" + (Planners.IsEmpty ? "" : $" (available: {string.Join(", ", Names)})"));

    /// <summary>The default <see cref="LatencyModelFactory"/>.</summary>
    public static ILatencyModel DefaultLatencyModel(string? profilePath) =>
        profilePath is null ? new AnalyticLatencyModel() : ProfileTable.FromCsv(File.ReadAllText(profilePath));
}
