namespace OrleansServe.Grains.Models;

/// <summary>Running totals behind <see cref="ModelStatistics"/>; touched only by its model grain's activation.</summary>
internal sealed class StatisticsCounter
{
    private sealed class Totals
    {
        public long Count;
        public long Ns;

        public void Add(long ns, long count = 1)
        {
            Count += count;
            Ns += ns;
        }

        public DurationStat ToStat() => new(Count, Ns);
    }

    private sealed class BatchTotals
    {
        public readonly Totals Input = new();
        public readonly Totals Infer = new();
        public readonly Totals Output = new();
    }

    private readonly Totals success = new();
    private readonly Totals fail = new();
    private readonly Totals queue = new();
    private readonly Totals computeInput = new();
    private readonly Totals computeInfer = new();
    private readonly Totals computeOutput = new();
    private readonly SortedDictionary<int, BatchTotals> batches = [];
    private long lastInferenceMs;
    private long inferenceCount;
    private long executionCount;

    public void Queued(long ns) => queue.Add(ns);

    /// <summary>One executed batch of <paramref name="size"/> samples serving <paramref name="requests"/> requests.</summary>
    public void Executed(int size, int requests, long inputNs, long inferNs, long outputNs, long nowMs)
    {
        executionCount++;
        inferenceCount += size;
        lastInferenceMs = nowMs;
        computeInput.Add(inputNs, requests);
        computeInfer.Add(inferNs, requests);
        computeOutput.Add(outputNs, requests);
        if (!batches.TryGetValue(size, out var totals))
        {
            batches[size] = totals = new BatchTotals();
        }
        totals.Input.Add(inputNs);
        totals.Infer.Add(inferNs);
        totals.Output.Add(outputNs);
    }

    /// <summary>
    /// Estimated milliseconds for a batch of <paramref name="size"/>: the measured mean of the smallest measured size
    /// at or above it (a conservative bound), or beyond every measured size the largest one scaled by size; null when
    /// nothing is measured.
    /// </summary>
    public double? BatchLatency(int size)
    {
        (int Size, double Ms)? largest = null;
        foreach (var (measured, totals) in batches)
        {
            if (totals.Infer.Count == 0)
            {
                continue;
            }
            var ms = (totals.Input.Ns + totals.Infer.Ns + totals.Output.Ns) / (double)totals.Infer.Count / 1e6;
            if (measured >= size)
            {
                return ms;
            }
            largest = (measured, ms);
        }
        return largest is { } last ? last.Ms * size / last.Size : null;
    }

    public void Succeeded(long ns) => success.Add(ns);

    public void Failed(long ns) => fail.Add(ns);

    public ModelStatistics Snapshot(string name, string version) => new(
        name, version, lastInferenceMs, inferenceCount, executionCount,
        success.ToStat(), fail.ToStat(), queue.ToStat(),
        computeInput.ToStat(), computeInfer.ToStat(), computeOutput.ToStat(),
        [.. batches.Select(b => new BatchStat(b.Key, b.Value.Input.ToStat(), b.Value.Infer.ToStat(), b.Value.Output.ToStat()))]);
}
