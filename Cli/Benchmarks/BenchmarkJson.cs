using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>How the measuring commands write their JSON files: snake_case, indented, and NaN or infinity kept as such (a figure not measured).</summary>
public static class BenchmarkJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Writes <paramref name="report"/> to <paramref name="path"/>.</summary>
    public static void Write(string path, object report) => File.WriteAllText(path, JsonSerializer.Serialize(report, Options));
}
