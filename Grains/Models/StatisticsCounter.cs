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
    /// Mean device time (input, infer, output) of the largest batch size measured up to <paramref name="maxBatch"/>,
    /// or null before any batch has run.
    /// </summary>
    public (int Batch, double MeanMs)? LargestBatchLatency(int maxBatch)
    {
        foreach (var (size, totals) in batches.Reverse())
        {
            if (size <= maxBatch && totals.Infer.Count > 0)
            {
                return (size, (totals.Input.Ns + totals.Infer.Ns + totals.Output.Ns) / (double)totals.Infer.Count / 1e6);
            }
        }
        return null;
    }

    public void Succeeded(long ns) => success.Add(ns);

    public void Failed(long ns) => fail.Add(ns);

    public ModelStatistics Snapshot(string name, string version) => new(
        name, version, lastInferenceMs, inferenceCount, executionCount,
        success.ToStat(), fail.ToStat(), queue.ToStat(),
        computeInput.ToStat(), computeInfer.ToStat(), computeOutput.ToStat(),
        [.. batches.Select(b => new BatchStat(b.Key, b.Value.Input.ToStat(), b.Value.Infer.ToStat(), b.Value.Output.ToStat()))]);
}
