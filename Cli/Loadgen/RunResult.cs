using System.Diagnostics;

namespace OrleansServe.Cli.Loadgen;

/// <summary>The figures of one run (one mode at one concurrency or rate).</summary>
public sealed record RunResult(
    string Mode,
    int Concurrency,
    double? RateRps,
    double DurationS,
    long Requests,
    long Errors,
    IReadOnlyDictionary<string, long> ErrorsByKind,
    long Dropped,
    double ThroughputRps,
    double InferencesPerS,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double MaxMs,
    string? FirstError)
{
    /// <summary>Merges the workers of a run. Throughput counts successful requests over the measured time.</summary>
    public static RunResult From(string mode, int concurrency, double? rateRps, int batch, RunWindow window, IEnumerable<WorkerTally> workers)
    {
        var latencies = new LatencyHistogram();
        long ok = 0, exceptions = 0, dropped = 0, last = 0;
        var byKind = new SortedDictionary<string, long>(StringComparer.Ordinal);
        string? firstError = null;
        foreach (var worker in workers)
        {
            latencies.Add(worker.Latencies);
            ok += worker.Ok;
            exceptions += worker.Exceptions;
            dropped += worker.Dropped;
            last = Math.Max(last, worker.LastCompletion);
            firstError ??= worker.FirstError;
            foreach (var (status, count) in worker.HttpErrors)
            {
                var key = $"http_{status}";
                byKind[key] = byKind.GetValueOrDefault(key) + count;
            }
        }
        if (exceptions > 0)
        {
            byKind["exception"] = exceptions;
        }
        var errors = byKind.Values.Sum();
        // Measured time runs from the end of warmup to the last measured completion (at least the planned duration's start).
        var seconds = last > window.WarmupEnd ? (double)(last - window.WarmupEnd) / Stopwatch.Frequency : 0;
        var rps = seconds > 0 ? ok / seconds : 0;
        return new RunResult(
            mode, concurrency, rateRps, Math.Round(seconds, 3), ok + errors, errors, byKind, dropped,
            Math.Round(rps, 2), Math.Round(rps * batch, 2),
            Ms(latencies.ValueAtPercentile(50)), Ms(latencies.ValueAtPercentile(90)), Ms(latencies.ValueAtPercentile(99)), Ms(latencies.MaxNs),
            firstError);
    }

    private static double Ms(long nanoseconds) => Math.Round(nanoseconds / 1e6, 3);
}
