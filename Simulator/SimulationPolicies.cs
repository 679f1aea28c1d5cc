using System.Collections.Concurrent;
using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Simulator;

/// <summary>
/// The planners and latency model a simulation run can name: the product's planners from their one catalogue
/// (<see cref="Planners"/>), and planners a host registers besides (tests, experiments). A name neither knows is
/// reported, not guessed.
/// </summary>
public static class SimulationPolicies
{
    private static readonly ConcurrentDictionary<string, IPlanner> Registered = new(StringComparer.Ordinal);

    /// <summary>
    /// Makes the latency model for a run from an optional profile CSV path. The default reads the CSV with
    /// <see cref="ProfileTable"/> (the scheduler's own reader), or without one falls back to the <see cref="AnalyticLatencyModel"/> stand-in.
    /// </summary>
    public static Func<string?, ILatencyModel> LatencyModelFactory { get; set; } = DefaultLatencyModel;

    /// <summary>Makes the interference predictor for a run from the latency model; by default no interference.</summary>
    public static Func<ILatencyModel, IInterferencePredictor> InterferenceFactory { get; set; } = _ => NoInterference.Instance;

    /// <summary>The names of the catalogue's planners and the registered ones, sorted.</summary>
    public static IReadOnlyList<string> Names => [.. Scheduler.Planning.Planners.Names.Union(Registered.Keys).Order(StringComparer.Ordinal)];

    /// <summary>Registers (or replaces) a planner under its <see cref="IPlanner.Name"/>; it wins over a catalogue planner of that name.</summary>
    public static void Register(IPlanner planner) => Registered[planner.Name] = planner;

    /// <summary>The planner named <paramref name="name"/>: a registered one, else the catalogue's.</summary>
    public static bool TryGet(string name, out IPlanner planner)
    {
        if (Registered.TryGetValue(name, out planner!))
        {
            return true;
        }
        if (Scheduler.Planning.Planners.Names.Contains(name))
        {
            planner = Scheduler.Planning.Planners.Create(name);
            return true;
        }
        return false;
    }

    /// <summary>The planner named <paramref name="name"/>; throws with the message the CLI shows otherwise.</summary>
    public static IPlanner Get(string name) =>
        TryGet(name, out var planner)
            ? planner
            : throw new KeyNotFoundException($"policy '{name}' is not available in this build (available: {string.Join(", ", Names)})");

    /// <summary>The default <see cref="LatencyModelFactory"/>.</summary>
    public static ILatencyModel DefaultLatencyModel(string? profilePath) =>
        profilePath is null ? new AnalyticLatencyModel() : ProfileTable.FromCsv(File.ReadAllText(profilePath));
}
