using System.Text.Json;

namespace OrleansServe.Scheduler.Planning;

/// <summary>Plans as JSON with snake_case names, for the scheduler grain's API, the simulator's logs and the bench figures.</summary>
public static class PlanJson
{
    /// <summary>The options plans are written and read with.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>The plan as JSON.</summary>
    public static string Serialize(SchedulePlan plan) => JsonSerializer.Serialize(plan, Options);

    /// <summary>A plan read back from JSON.</summary>
    public static SchedulePlan Deserialize(string json) =>
        JsonSerializer.Deserialize<SchedulePlan>(json, Options) ?? throw new JsonException("The JSON holds no plan.");
}
