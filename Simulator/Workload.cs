using OrleansServe.Scheduler;

namespace OrleansServe.Simulator;

/// <summary>How requests arrive for a workload's models.</summary>
public enum ArrivalKind
{
    /// <summary>Independent Poisson arrivals per model at its rate.</summary>
    Poisson,

    /// <summary>Evenly spaced arrivals per model at its rate (deterministic; for tests and analytic checks).</summary>
    Uniform,

    /// <summary>A recorded trace of arrivals, time-scaled to the requested total rate.</summary>
    Trace,
}

/// <summary>One request of a trace: when it arrives (ms from the start) and for which model.</summary>
public sealed record TraceArrival(double TimeMs, string Model);

/// <summary>A model of a workload and its share of the workload's total request rate.</summary>
public sealed record WorkloadStream(ModelSpec Model, double Share);

/// <summary>
/// A set of models with fixed rate shares and an arrival process; <see cref="Demands"/> scales it to a total rate, so
/// a max-rate search can sweep one number.
/// </summary>
public sealed class Workload
{
    private readonly IReadOnlyList<TraceArrival>? trace;
    private readonly double traceRateRps;

    /// <summary>A workload whose streams' shares are normalised to sum to one.</summary>
    public Workload(string name, IReadOnlyList<WorkloadStream> streams, ArrivalKind arrivals = ArrivalKind.Poisson)
    {
        if (arrivals == ArrivalKind.Trace)
        {
            throw new ArgumentException("use Workload.FromTrace for a trace workload", nameof(arrivals));
        }
        Name = name;
        Streams = Normalise(streams);
        Arrivals = arrivals;
    }

    private Workload(string name, IReadOnlyList<WorkloadStream> streams, IReadOnlyList<TraceArrival> trace, double traceRateRps)
    {
        Name = name;
        Streams = streams;
        Arrivals = ArrivalKind.Trace;
        this.trace = trace;
        this.traceRateRps = traceRateRps;
    }

    /// <summary>The workload's name as the CLI and results show it.</summary>
    public string Name { get; }

    /// <summary>The models and their shares of the total rate (summing to one).</summary>
    public IReadOnlyList<WorkloadStream> Streams { get; }

    /// <summary>The arrival process requests follow.</summary>
    public ArrivalKind Arrivals { get; }

    /// <summary>
    /// A trace workload: shares come from the trace's request counts, and its recorded total rate is the request count
    /// over <paramref name="traceDurationMs"/>; at another total rate its times are scaled by recorded/requested.
    /// </summary>
    public static Workload FromTrace(string name, IReadOnlyList<ModelSpec> models, IReadOnlyList<TraceArrival> arrivals, double traceDurationMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(traceDurationMs);
        var counts = arrivals.GroupBy(a => a.Model).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var unknown = counts.Keys.Except(models.Select(m => m.Name)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"trace names models not in the workload: {string.Join(", ", unknown)}", nameof(arrivals));
        }
        var total = Math.Max(1, arrivals.Count);
        var streams = models.Select(m => new WorkloadStream(m, counts.GetValueOrDefault(m.Name) / (double)total)).ToList();
        var sorted = arrivals.OrderBy(a => a.TimeMs).ToList();
        return new Workload(name, streams, sorted, arrivals.Count * 1000.0 / traceDurationMs);
    }

    /// <summary>The rate a trace was recorded at (requests per second); for other arrival kinds, zero.</summary>
    public double TraceRateRps => traceRateRps;

    /// <summary>Per-model demands when the workload runs at <paramref name="totalRateRps"/> in all.</summary>
    public IReadOnlyList<ModelDemand> Demands(double totalRateRps) =>
        [.. Streams.Select(s => new ModelDemand(s.Model, s.Share * totalRateRps))];

    /// <summary>The trace's arrivals time-scaled to <paramref name="totalRateRps"/>; null unless this is a trace workload.</summary>
    public IReadOnlyList<TraceArrival>? TraceAt(double totalRateRps)
    {
        if (trace is null)
        {
            return null;
        }
        var scale = traceRateRps / totalRateRps;
        return [.. trace.Select(a => a with { TimeMs = a.TimeMs * scale })];
    }

    private static List<WorkloadStream> Normalise(IReadOnlyList<WorkloadStream> streams)
    {
        var sum = streams.Sum(s => s.Share);
        if (streams.Count == 0 || sum <= 0)
        {
            throw new ArgumentException("a workload needs at least one stream with a positive share", nameof(streams));
        }
        return [.. streams.Select(s => s with { Share = s.Share / sum })];
    }
}
