namespace OrleansServe.Scheduler.Planning;

/// <summary>The planners by name, in one place: the scheduler grain, its settings check, the CLI and the simulator pick from it.</summary>
public static class Planners
{
    /// <summary>The planners' names, as <see cref="IPlanner.Name"/> gives them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["gpulet", "temporal", "swap", "orleansserve"];

    /// <summary>The planner named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No planner has that name; the message lists those that do.</exception>
    public static IPlanner Create(string name, PlannerOptions? options = null) => name switch
    {
        "gpulet" => new GpuletPlanner(options),
        "temporal" => new TemporalPlanner(options),
        "swap" => new SwapPlanner(options),
        "orleansserve" => new OrleansServePlanner(options),
        _ => throw new KeyNotFoundException($"no planner is named '{name}' (planners: {string.Join(", ", Names)})"),
    };

    /// <summary>Every planner with default options.</summary>
    public static IReadOnlyList<IPlanner> All => [.. Names.Select(name => Create(name))];
}
