namespace OrleansServe.Scheduler.Planning;

/// <summary>
/// Torpor's queueing priority: the required request count RRC = (p·n − m) / (1 − p), how many more requests must
/// meet the SLO in a row for the model to reach its SLO percentile again. Lower RRC, higher priority.
/// </summary>
public static class RequiredRequestCount
{
    /// <param name="percentile">The SLO percentile p as a fraction in (0, 1), e.g. 0.98 for P98.</param>
    /// <param name="requests">n: requests of the model so far.</param>
    /// <param name="servedInTime">m: of those, served within the SLO.</param>
    public static double Compute(double percentile, long requests, long servedInTime)
    {
        if (percentile is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The SLO percentile must lie strictly between 0 and 1.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(requests);
        ArgumentOutOfRangeException.ThrowIfNegative(servedInTime);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(servedInTime, requests);
        return ((percentile * requests) - servedInTime) / (1 - percentile);
    }
}
