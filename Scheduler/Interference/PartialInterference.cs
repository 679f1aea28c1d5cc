using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Scheduler.Interference;

/// <summary>
/// An interference predictor over the models it has features for: a pair with a model it does not know (no graph
/// cost, no latency at the feature batch) is predicted to run as if alone, rather than failing the plan.
/// </summary>
public sealed class PartialInterference(IInterferencePredictor inner, IReadOnlySet<string> known) : IInterferencePredictor
{
    /// <inheritdoc/>
    public double Slowdown(string model, int partition, string neighbour, int neighbourPartition)
    {
        if (!known.Contains(model) || !known.Contains(neighbour))
        {
            return 1.0;
        }
        try
        {
            // A latency of 0 in the table makes a feature infinite; such a prediction says nothing.
            var slowdown = inner.Slowdown(model, partition, neighbour, neighbourPartition);
            return double.IsFinite(slowdown) ? slowdown : 1.0;
        }
        catch (Exception e) when (e is UnknownModelException or ArgumentException or InvalidOperationException)
        {
            // No latency to take the pair's features from (the profile table lacks the point).
            return 1.0;
        }
    }
}
