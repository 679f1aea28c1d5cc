using OrleansServe.Scheduler.Runtime;

namespace OrleansServe.Scheduler.Interference;

/// <summary>A measured slowdown: a model's latency on its gpulet with the neighbour running, over its solo latency.</summary>
public sealed record CoLocationMeasurement(string Model, int Partition, string Neighbour, int NeighbourPartition, double Slowdown);

/// <summary>How far predictions were from measurements: relative errors |predicted − actual| / actual, nearest-rank percentiles.</summary>
public sealed record PredictionErrors(int Count, double Mean, double P50, double P90, double P95, double Max)
{
    /// <summary>Summarises relative errors (fractions, not percent).</summary>
    public static PredictionErrors Of(IEnumerable<double> relativeErrors)
    {
        var sorted = relativeErrors.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("no errors to summarise", nameof(relativeErrors));
        }
        double Percentile(double q) => Percentiles.NearestRank(sorted, q);
        return new PredictionErrors(sorted.Length, sorted.Average(), Percentile(0.50), Percentile(0.90), Percentile(0.95), sorted[^1]);
    }

    /// <summary>Fraction of cases with an error at most <paramref name="bound"/>.</summary>
    public static double FractionWithin(IEnumerable<double> relativeErrors, double bound)
    {
        var errors = relativeErrors.ToArray();
        return errors.Count(e => e <= bound) / (double)errors.Length;
    }
}
