namespace OrleansServe.Scheduler.Profiles;

/// <summary>Where a profile row's latency came from.</summary>
public enum ProfileSource
{
    /// <summary>Timed on a GPU by this project.</summary>
    Measured,

    /// <summary>Estimated from FLOPs and bytes by <see cref="RooflineEstimator"/>.</summary>
    Roofline,

    /// <summary>Taken from a paper.</summary>
    Published,

    /// <summary>Read from a file that did not say.</summary>
    Imported,
}

/// <summary>One profile table row: a model's solo latency for one batch on one SM share of one device type.</summary>
/// <param name="Model">Model name, as in <see cref="ModelSpec.Name"/>.</param>
/// <param name="Partition">SM share in percent (1–100).</param>
/// <param name="Batch">Batch size (≥ 1).</param>
/// <param name="LatencyMs">Milliseconds for one batch.</param>
/// <param name="Device">Device type ("h100-sxm", "v100", …); empty when the source did not say.</param>
/// <param name="Source">Where the figure came from.</param>
public sealed record ProfileRow(
    string Model,
    int Partition,
    int Batch,
    double LatencyMs,
    string Device = "",
    ProfileSource Source = ProfileSource.Imported);
