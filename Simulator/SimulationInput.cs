using OrleansServe.Scheduler;

namespace OrleansServe.Simulator;

/// <summary>What a request that can no longer meet its SLO does when its gpulet gets to it.</summary>
public enum DropPolicy
{
    /// <summary>Clockwork's rule: at dispatch, a request whose batch would finish after its deadline is dropped (a violation).</summary>
    DropExpired,

    /// <summary>Every request is served however late; late ones still count as violations.</summary>
    ServeAll,
}

/// <summary>When a gpulet starts its next round after a round that ran batches.</summary>
public enum RoundPacing
{
    /// <summary>At once when anything is queued, as a real executor does (the duty cycle is then a bound, not a period).</summary>
    WorkConserving,

    /// <summary>A duty cycle after the previous round started, as gpulet's plan describes it (at once if the round overran).</summary>
    Paced,
}

/// <summary>Knobs of the simulated server that are not part of the plan.</summary>
/// <param name="Drop">What happens to requests that can no longer make their SLO.</param>
/// <param name="SwapMaxBatch">Largest batch for a swap-served model that has no gpulet assignment of its own.</param>
/// <param name="DrainSloMultiple">After the last arrival the simulation runs on for this many of the largest SLO; what is still queued then is a violation.</param>
/// <param name="DynamicBatchLimit">Largest batch a gpulet may take when more requests wait than the plan's batch, as long
/// as the oldest still makes its deadline (a dynamic batcher; 0 keeps the plan's batch).</param>
/// <param name="Pacing">When the next round starts (work-conserving by default: with Poisson arrivals a strictly paced batch-1 round
/// at a duty cycle of 1/rate is critically loaded and drops requests no real executor would).</param>
public sealed record SimulationOptions(DropPolicy Drop = DropPolicy.DropExpired, int SwapMaxBatch = 8, double DrainSloMultiple = 10, RoundPacing Pacing = RoundPacing.WorkConserving, int DynamicBatchLimit = 32);

/// <summary>One simulation run: a plan, the demands it was made for and how their requests arrive.</summary>
/// <param name="Demands">Models, SLOs and rates; Poisson and uniform arrivals follow these rates.</param>
/// <param name="DurationSeconds">Requests arrive during [0, duration); the run then drains.</param>
/// <param name="Seed">Seeds the arrival process; the same input and seed give the same result.</param>
public sealed record SimulationInput(
    SchedulePlan Plan,
    IReadOnlyList<ModelDemand> Demands,
    ClusterSpec Cluster,
    ILatencyModel Latency,
    IInterferencePredictor Interference,
    double DurationSeconds,
    int Seed)
{
    /// <summary>The arrival process; <see cref="ArrivalKind.Trace"/> needs <see cref="Trace"/>.</summary>
    public ArrivalKind Arrivals { get; init; } = ArrivalKind.Poisson;

    /// <summary>The arrivals to replay, times as given (already scaled), when <see cref="Arrivals"/> is a trace.</summary>
    public IReadOnlyList<TraceArrival>? Trace { get; init; }

    /// <summary>Drop policy and other server knobs.</summary>
    public SimulationOptions Options { get; init; } = new();

    /// <summary>An input that runs <paramref name="workload"/> at <paramref name="totalRateRps"/> in all.</summary>
    public static SimulationInput ForWorkload(
        SchedulePlan plan,
        Workload workload,
        double totalRateRps,
        ClusterSpec cluster,
        ILatencyModel latency,
        IInterferencePredictor interference,
        double durationSeconds,
        int seed) =>
        new(plan, workload.Demands(totalRateRps), cluster, latency, interference, durationSeconds, seed)
        {
            Arrivals = workload.Arrivals,
            Trace = workload.TraceAt(totalRateRps),
        };
}

/// <summary>One model's outcome in a run.</summary>
/// <param name="Requests">Requests that arrived.</param>
/// <param name="WithinSlo">Requests that completed within their SLO.</param>
/// <param name="Dropped">Requests dropped at dispatch, left queued at the end, or for a model the plan did not schedule.</param>
/// <param name="P50Ms">Median latency of completed requests (NaN when none completed).</param>
/// <param name="P99Ms">99th-percentile latency of completed requests (NaN when none completed).</param>
/// <param name="SwapIns">Host→GPU transfers of this model.</param>
public sealed record ModelOutcome(string Model, long Requests, long WithinSlo, long Dropped, double P50Ms, double P99Ms, long SwapIns);

/// <summary>A run's outcome.</summary>
/// <param name="SloAttainment">WithinSlo / TotalRequests (1 when no request arrived).</param>
/// <param name="GpusUsed">GPUs of the plan that hold at least one gpulet with a model, or serve swapped models.</param>
/// <param name="ModelsPerGpu">Distinct models served (gpulet-assigned or swap-served) over GPUs used.</param>
/// <param name="WallSeconds">The simulator's own run time, for its speed; never part of a comparison.</param>
/// <param name="SimulatedRequestsPerWallSecond">TotalRequests / WallSeconds.</param>
public sealed record SimulationResult(
    long TotalRequests,
    long WithinSlo,
    double SloAttainment,
    int GpusUsed,
    double ModelsPerGpu,
    IReadOnlyList<ModelOutcome> Models,
    double WallSeconds,
    double SimulatedRequestsPerWallSecond);
