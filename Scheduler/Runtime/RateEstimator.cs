namespace OrleansServe.Scheduler.Runtime;

/// <summary>
/// A model's request rate as an exponentially weighted moving average of the rates seen in successive periods
/// (gpulet re-plans from EWMA rates). Fed with cumulative request counts, so a missed report only lengthens a period.
/// </summary>
/// <param name="weight">Weight of the newest period, in (0, 1]; 1 keeps only the last period.</param>
public sealed class RateEstimator(double weight = 0.5)
{
    private long? lastCount;
    private double lastSeconds;

    /// <summary>Requests per second; 0 until two observations have been made.</summary>
    public double RateRps { get; private set; }

    /// <summary>Whether a rate has been estimated yet.</summary>
    public bool HasRate { get; private set; }

    /// <summary>Records the cumulative request count at a time (seconds on any monotonic clock).</summary>
    public void Observe(long cumulativeCount, double atSeconds)
    {
        if (weight is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(weight), weight, "the EWMA weight must be in (0, 1]");
        }
        if (lastCount is { } previous && atSeconds > lastSeconds)
        {
            // A count that went down means the model was reloaded: start counting again from it.
            var delta = Math.Max(0, cumulativeCount - previous);
            var rate = delta / (atSeconds - lastSeconds);
            RateRps = HasRate ? weight * rate + (1 - weight) * RateRps : rate;
            HasRate = true;
        }
        lastCount = cumulativeCount;
        lastSeconds = atSeconds;
    }
}
