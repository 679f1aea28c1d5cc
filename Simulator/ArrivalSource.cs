namespace OrleansServe.Simulator;

/// <summary>
/// The next arrival of a run, generated lazily so arrivals never sit in the event queue. Poisson arrivals are drawn
/// as one merged Poisson process at the summed rate with each arrival's model picked in proportion to its rate, which
/// is the same process as independent per-model Poisson streams.
/// </summary>
internal sealed class ArrivalSource
{
    private readonly ArrivalKind kind;
    private readonly double durationMs;
    private readonly Random random;
    private readonly double totalRatePerMs;
    private readonly double[] cumulative = [];
    private readonly int[] cumulativeModel = [];
    private readonly double[] nextUniform = [];
    private readonly double[] periodMs = [];
    private readonly double[] traceTimes = [];
    private readonly int[] traceModels = [];
    private int traceNext;

    public ArrivalSource(SimulationInput input, IReadOnlyDictionary<string, int> index, double durationMs)
    {
        kind = input.Arrivals;
        this.durationMs = durationMs;
        random = new Random(input.Seed);
        var demands = input.Demands;
        switch (kind)
        {
            case ArrivalKind.Poisson:
                var positive = Enumerable.Range(0, demands.Count).Where(i => demands[i].RateRps > 0).ToArray();
                cumulativeModel = positive;
                cumulative = new double[positive.Length];
                var sum = 0.0;
                for (var i = 0; i < positive.Length; i++)
                {
                    sum += demands[positive[i]].RateRps;
                    cumulative[i] = sum;
                }
                totalRatePerMs = sum / 1000;
                TimeMs = 0;
                break;
            case ArrivalKind.Uniform:
                periodMs = [.. demands.Select(d => d.RateRps > 0 ? 1000 / d.RateRps : double.PositiveInfinity)];
                nextUniform = [.. periodMs.Select(p => double.IsPositiveInfinity(p) ? p : 0)];
                break;
            case ArrivalKind.Trace:
                var trace = input.Trace ?? throw new ArgumentException("a trace run needs SimulationInput.Trace", nameof(input));
                var kept = trace.Where(a => a.TimeMs >= 0 && a.TimeMs < durationMs).OrderBy(a => a.TimeMs).ToArray();
                traceTimes = [.. kept.Select(a => a.TimeMs)];
                traceModels = [.. kept.Select(a => index.TryGetValue(a.Model, out var m) ? m : throw new ArgumentException($"trace model '{a.Model}' has no demand", nameof(input)))];
                break;
        }
        Advance();
    }

    public bool HasNext { get; private set; }

    public double TimeMs { get; private set; }

    public int Model { get; private set; }

    public void Advance()
    {
        switch (kind)
        {
            case ArrivalKind.Poisson:
                if (totalRatePerMs <= 0)
                {
                    HasNext = false;
                    return;
                }
                TimeMs += -Math.Log(1 - random.NextDouble()) / totalRatePerMs;
                Model = cumulativeModel[Pick(random.NextDouble() * cumulative[^1])];
                break;
            case ArrivalKind.Uniform:
                var best = -1;
                for (var i = 0; i < nextUniform.Length; i++)
                {
                    if (best < 0 || nextUniform[i] < nextUniform[best])
                    {
                        best = i;
                    }
                }
                if (best < 0)
                {
                    HasNext = false;
                    return;
                }
                TimeMs = nextUniform[best];
                Model = best;
                nextUniform[best] += periodMs[best];
                break;
            case ArrivalKind.Trace:
                if (traceNext == traceTimes.Length)
                {
                    HasNext = false;
                    return;
                }
                TimeMs = traceTimes[traceNext];
                Model = traceModels[traceNext++];
                break;
        }
        HasNext = TimeMs < durationMs;
    }

    private int Pick(double u)
    {
        int low = 0, high = cumulative.Length - 1;
        while (low < high)
        {
            var mid = (low + high) >> 1;
            if (cumulative[mid] > u)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }
        return low;
    }
}
