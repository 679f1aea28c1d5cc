using System.Diagnostics;

namespace OrleansServe.Cli.Loadgen;

/// <summary>
/// The time and count bounds of one run: requests start until <see cref="End"/> (warmup plus duration) or
/// until <see cref="MaxRequests"/> have started; only those starting at or after <see cref="WarmupEnd"/> count.
/// </summary>
public sealed class RunWindow
{
    private long started;

    public RunWindow(TimeSpan warmup, TimeSpan duration, long maxRequests)
    {
        Start = Stopwatch.GetTimestamp();
        WarmupEnd = Start + ToTicks(warmup);
        End = WarmupEnd + ToTicks(duration);
        MaxRequests = maxRequests;
    }

    /// <summary>Stopwatch timestamp the run began.</summary>
    public long Start { get; }

    /// <summary>Stopwatch timestamp measurement begins.</summary>
    public long WarmupEnd { get; }

    /// <summary>Stopwatch timestamp no more requests start.</summary>
    public long End { get; }

    /// <summary>Most requests (warmup included) the run may start.</summary>
    public long MaxRequests { get; }

    /// <summary>Requests started so far, warmup included.</summary>
    public long Started => Volatile.Read(ref started);

    /// <summary>Claims the next request; false once time or count is up (or <paramref name="cancellationToken"/> fires).</summary>
    public bool TryStart(long now, CancellationToken cancellationToken) =>
        now < End && !cancellationToken.IsCancellationRequested && Interlocked.Increment(ref started) <= MaxRequests;

    /// <summary>Share of the run's time gone, 0 to 1, for progress bars.</summary>
    public double Progress(long now) => Math.Clamp((double)(now - Start) / (End - Start), 0, 1);

    /// <summary>Nanoseconds between two Stopwatch timestamps.</summary>
    public static long Nanoseconds(long from, long to) => (long)((to - from) * (1e9 / Stopwatch.Frequency));

    private static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);
}

/// <summary>What one worker saw during the measured part of a run; merged into a <see cref="RunResult"/>.</summary>
public sealed class WorkerTally
{
    /// <summary>Latencies of successful requests.</summary>
    public LatencyHistogram Latencies { get; } = new();

    /// <summary>Successful requests.</summary>
    public long Ok { get; set; }

    /// <summary>Failed requests by HTTP status.</summary>
    public Dictionary<int, long> HttpErrors { get; } = [];

    /// <summary>Requests that threw (connection refused, timeout, ORT error).</summary>
    public long Exceptions { get; set; }

    /// <summary>Arrivals not sent because the outstanding bound was reached (open loop only).</summary>
    public long Dropped { get; set; }

    /// <summary>Stopwatch timestamp the last measured request finished; 0 when none.</summary>
    public long LastCompletion { get; set; }

    /// <summary>First failure's description, for the report.</summary>
    public string? FirstError { get; set; }

    /// <summary>Records a finished request that started at <paramref name="begin"/>, if it counts.</summary>
    public void Complete(RunWindow window, long begin, long end, int? httpStatus, string? error)
    {
        if (begin < window.WarmupEnd)
        {
            return;
        }
        LastCompletion = Math.Max(LastCompletion, end);
        if (error is null)
        {
            Ok++;
            Latencies.Record(RunWindow.Nanoseconds(begin, end));
            return;
        }
        FirstError ??= error;
        if (httpStatus is int status)
        {
            HttpErrors[status] = HttpErrors.GetValueOrDefault(status) + 1;
        }
        else
        {
            Exceptions++;
        }
    }
}
