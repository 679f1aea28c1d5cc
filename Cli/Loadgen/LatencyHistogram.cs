using HdrHistogram;

namespace OrleansServe.Cli.Loadgen;

/// <summary>
/// Latency in nanoseconds on an HdrHistogram (three significant digits: exact below 2,048 ns, within 0.1 % above, up
/// to about 2.4 hours), with the exact maximum kept beside it. Recording never allocates; one per worker, merged with
/// <see cref="Add"/> after a run.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>The largest latency kept as itself; larger ones are recorded as this.</summary>
    public const long MaxTrackableNs = (1L << 43) - 1;

    private readonly LongHistogram histogram = new(1, MaxTrackableNs, 3);

    /// <summary>Values recorded.</summary>
    public long Count => histogram.TotalCount;

    /// <summary>Largest value recorded (exact), 0 when empty.</summary>
    public long MaxNs { get; private set; }

    /// <summary>Records one latency; negative values count as 0.</summary>
    public void Record(long nanoseconds)
    {
        var value = Math.Clamp(nanoseconds, 0, MaxTrackableNs);
        histogram.RecordValue(value);
        MaxNs = Math.Max(MaxNs, value);
    }

    /// <summary>Adds another histogram's values to this one.</summary>
    public void Add(LatencyHistogram other)
    {
        histogram.Add(other.histogram);
        MaxNs = Math.Max(MaxNs, other.MaxNs);
    }

    /// <summary>
    /// The percentile as HdrHistogram reports it (the top of the value's bucket: never below it, within its precision),
    /// never above the exact maximum. 0 when empty.
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        if (percentile is <= 0 or > 100 || double.IsNaN(percentile))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "a percentile is in (0, 100]");
        }
        return Count == 0 ? 0 : Math.Min(histogram.GetValueAtPercentile(percentile), MaxNs);
    }
}
