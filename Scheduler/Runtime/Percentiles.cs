namespace OrleansServe.Scheduler.Runtime;

/// <summary>How the project reads a sample's percentiles, in one place: nearest rank, and the median.</summary>
public static class Percentiles
{
    /// <summary>
    /// The nearest-rank <paramref name="p"/>-quantile (p in (0, 1]) of an ascending sample: the smallest value with at
    /// least that fraction of the sample at or below it. NaN for an empty sample.
    /// </summary>
    public static double NearestRank(ReadOnlySpan<double> sorted, double p)
    {
        if (p is <= 0 or > 1 || double.IsNaN(p))
        {
            throw new ArgumentOutOfRangeException(nameof(p), p, "a quantile is in (0, 1]");
        }
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    /// <summary>The median: the middle value, or the mean of the two middle values of an even sample; NaN when empty.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
