using System.Numerics;

namespace OrleansServe.Cli.Loadgen;

/// <summary>
/// Fixed-size log-linear latency histogram in nanoseconds (HdrHistogram's layout with 10 significant bits):
/// exact below 1,024 ns, within 0.2 % above, up to about 2.4 hours. Recording never allocates; one per
/// worker, merged with <see cref="Add"/> after a run.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 10;
    private const int SubBucketCount = 1 << SubBucketBits;
    private const int HalfSubBucketCount = SubBucketCount / 2;
    private const int MaxMagnitude = 42;

    /// <summary>The largest latency kept as itself; larger ones are recorded as this.</summary>
    public const long MaxTrackableNs = (1L << (MaxMagnitude + 1)) - 1;

    private readonly long[] counts = new long[SubBucketCount + ((MaxMagnitude - SubBucketBits + 1) * HalfSubBucketCount)];

    /// <summary>Values recorded.</summary>
    public long Count { get; private set; }

    /// <summary>Largest value recorded (exact), 0 when empty.</summary>
    public long MaxNs { get; private set; }

    /// <summary>Records one latency; negative values count as 0.</summary>
    public void Record(long nanoseconds)
    {
        var value = Math.Clamp(nanoseconds, 0, MaxTrackableNs);
        counts[IndexOf(value)]++;
        Count++;
        if (value > MaxNs)
        {
            MaxNs = value;
        }
    }

    /// <summary>Adds another histogram's values to this one.</summary>
    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] += other.counts[i];
        }
        Count += other.Count;
        MaxNs = Math.Max(MaxNs, other.MaxNs);
    }

    /// <summary>
    /// Nearest-rank percentile: the smallest recorded value with at least <paramref name="percentile"/> % of
    /// the values at or below it, reported as the top of its bucket (never above the maximum). 0 when empty.
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        if (percentile is <= 0 or > 100 || double.IsNaN(percentile))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "a percentile is in (0, 100]");
        }
        if (Count == 0)
        {
            return 0;
        }
        // Multiply before dividing so whole percentiles of round counts stay exact (99 * 100 / 100, not 0.99 * 100).
        var rank = Math.Max(1, (long)Math.Ceiling(percentile * Count / 100.0));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestEquivalentValue(i), MaxNs);
            }
        }
        return MaxNs;
    }

    private static int IndexOf(long value)
    {
        if (value < SubBucketCount)
        {
            return (int)value;
        }
        var magnitude = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var shift = magnitude - (SubBucketBits - 1);
        var top = (int)(value >> shift);
        return SubBucketCount + ((magnitude - SubBucketBits) * HalfSubBucketCount) + (top - HalfSubBucketCount);
    }

    private static long HighestEquivalentValue(int index)
    {
        if (index < SubBucketCount)
        {
            return index;
        }
        var offset = index - SubBucketCount;
        var magnitude = (offset / HalfSubBucketCount) + SubBucketBits;
        var top = (long)((offset % HalfSubBucketCount) + HalfSubBucketCount);
        var shift = magnitude - (SubBucketBits - 1);
        return ((top + 1) << shift) - 1;
    }
}
