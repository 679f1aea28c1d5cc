using System.Diagnostics;
using OrleansServe.Engine.Execution;
using OrleansServe.Scheduler.Runtime;

namespace OrleansServe.Cli.Benchmarks;

/// <summary>One model's load: its Poisson rate, its SLO, the largest batch its dispatcher forms and how many batches it may have in flight.</summary>
/// <param name="Lanes">Batches in flight at once: one per gpulet the plan places the model on.</param>
public sealed record LoadStream(string Model, double RateRps, double SloMs, int MaxBatch, int Lanes = 1);

/// <summary>
/// What happened to one model's requests. Every request sent is counted exactly once: within its SLO, over it
/// (answered late), dropped (its SLO had passed before a batch could take it), failed (the device threw) or
/// unfinished (still queued or running when the drain timeout ended the run).
/// </summary>
public sealed record StreamOutcome(
    string Model, double RateRps, double SloMs, int MaxBatch, long Sent, long WithinSlo, long OverSlo, long Dropped, long Failed,
    long Unfinished, long Batches, double MeanBatch, double P50Ms, double P99Ms)
{
    /// <summary>Requests with an outcome: must equal <see cref="Sent"/>.</summary>
    public long Accounted => WithinSlo + OverSlo + Dropped + Failed + Unfinished;
}

/// <summary>One run of <see cref="OpenLoopLoad"/>: every model's outcome and the share of all requests within SLO.</summary>
public sealed record LoadOutcome(IReadOnlyList<StreamOutcome> Streams, double DurationSeconds)
{
    /// <summary>Requests sent over all models.</summary>
    public long Sent => Streams.Sum(s => s.Sent);

    /// <summary>Requests answered within their SLO over all models.</summary>
    public long WithinSlo => Streams.Sum(s => s.WithinSlo);

    /// <summary>Within-SLO requests over sent requests (1 when none was sent).</summary>
    public double SloAttainment => Sent == 0 ? 1 : (double)WithinSlo / Sent;

    /// <summary>99th percentile of how late the generator released an arrival (ms); the latencies include it.</summary>
    public double GeneratorLateP99Ms { get; init; }
}

/// <summary>
/// An open-loop load on a device: seeded Poisson arrivals per model, and per model a small dispatcher like the model
/// grain's: arrivals queue, and whenever the model has a free lane (its previous batch finished) the queue's head,
/// up to the batch limit, goes to the device as one batch. A request whose SLO has passed while it queued is dropped
/// rather than run (Clockwork's rule; it keeps an overloaded run from drowning the next). Latency is measured from
/// the scheduled arrival time, so a late generator is charged to the server, never hidden.
/// </summary>
public static class OpenLoopLoad
{
    /// <summary>Runs the load for <paramref name="seconds"/>, then waits for the requests in flight, at most <paramref name="drainTimeout"/>.</summary>
    /// <param name="inputs">Inputs of a model at a batch size and its output names.</param>
    public static async Task<LoadOutcome> RunAsync(
        IExecutionDevice device,
        Func<string, int, (NamedTensor[] Data, string[] Outputs)> inputs,
        IReadOnlyList<LoadStream> streams,
        double seconds,
        int seed,
        TimeSpan drainTimeout)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        foreach (var stream in streams)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(stream.RateRps);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stream.MaxBatch);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stream.Lanes);
        }
        var arrivals = Arrivals(streams, seconds, seed);
        var clock = Stopwatch.StartNew();
        var dispatchers = streams.Select(s => new Dispatcher(s, device, inputs, clock)).ToArray();

        // The generator has a thread of its own and sleeps on it: a timer hop through a busy thread pool releases
        // arrivals late by several milliseconds on a shared two-core machine.
        var lateness = await Task.Factory.StartNew(() => Generate(arrivals, dispatchers, clock), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        foreach (var dispatcher in dispatchers)
        {
            dispatcher.Close();
        }
        await Task.WhenAny(Task.WhenAll(dispatchers.Select(d => d.Drained)), Task.Delay(drainTimeout));
        return new LoadOutcome([.. dispatchers.Select(d => d.Outcome())], seconds) { GeneratorLateP99Ms = lateness };
    }

    /// <summary>Releases every arrival at its time; returns the 99th percentile of how late arrivals were released.</summary>
    private static double Generate((double TimeMs, int Stream)[] arrivals, Dispatcher[] dispatchers, Stopwatch clock)
    {
        var late = new double[arrivals.Length];
        var next = 0;
        while (next < arrivals.Length)
        {
            var now = clock.Elapsed.TotalMilliseconds;
            while (next < arrivals.Length && arrivals[next].TimeMs <= now)
            {
                late[next] = now - arrivals[next].TimeMs;
                dispatchers[arrivals[next].Stream].Arrive(arrivals[next].TimeMs);
                next++;
            }
            if (next < arrivals.Length)
            {
                var wait = arrivals[next].TimeMs - clock.Elapsed.TotalMilliseconds;
                if (wait > 0)
                {
                    Thread.Sleep(Math.Max(1, (int)wait));
                }
            }
        }
        Array.Sort(late);
        return late.Length == 0 ? 0 : Percentiles.NearestRank(late, 0.99);
    }

    /// <summary>Every arrival of the run, in time order: per model exponential gaps at its rate from its own seeded generator.</summary>
    public static (double TimeMs, int Stream)[] Arrivals(IReadOnlyList<LoadStream> streams, double seconds, int seed)
    {
        var all = new List<(double, int)>();
        for (var i = 0; i < streams.Count; i++)
        {
            if (streams[i].RateRps <= 0)
            {
                continue;
            }
            var random = new Random(HashCode.Combine(seed, i));
            var meanGapMs = 1000 / streams[i].RateRps;
            for (var t = -Math.Log(1 - random.NextDouble()) * meanGapMs; t < seconds * 1000; t += -Math.Log(1 - random.NextDouble()) * meanGapMs)
            {
                all.Add((t, i));
            }
        }
        return [.. all.OrderBy(a => a.Item1)];
    }

    private sealed class Dispatcher(LoadStream stream, IExecutionDevice device, Func<string, int, (NamedTensor[] Data, string[] Outputs)> inputs, Stopwatch clock)
    {
        private readonly Lock gate = new();
        private readonly Queue<double> queue = new();
        private readonly List<double> latencies = [];
        private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long sent, within, over, dropped, failed, batches, batched;
        private int inFlight;
        private bool closed;

        public Task Drained => drained.Task;

        public void Arrive(double scheduledMs)
        {
            List<double[]> ready;
            lock (gate)
            {
                sent++;
                queue.Enqueue(scheduledMs);
                ready = TakeBatches();
            }
            Start(ready);
        }

        public void Close()
        {
            List<double[]> ready;
            lock (gate)
            {
                closed = true;
                ready = TakeBatches();
                SignalIfDrained();
            }
            Start(ready);
        }

        public StreamOutcome Outcome()
        {
            lock (gate)
            {
                var sorted = latencies.Order().ToArray();
                double Percentile(double p) => sorted.Length == 0 ? 0 : Percentiles.NearestRank(sorted, p);
                var unfinished = sent - within - over - dropped - failed;
                return new StreamOutcome(stream.Model, stream.RateRps, stream.SloMs, stream.MaxBatch, sent, within, over, dropped, failed, unfinished,
                    batches, batches == 0 ? 0 : (double)batched / batches, Percentile(0.50), Percentile(0.99));
            }
        }

        /// <summary>Forms batches while a lane is free; drops requests already past their SLO. Called under the lock.</summary>
        private List<double[]> TakeBatches()
        {
            var ready = new List<double[]>();
            var now = clock.Elapsed.TotalMilliseconds;
            while (queue.Count > 0 && now - queue.Peek() > stream.SloMs)
            {
                queue.Dequeue();
                dropped++;
            }
            while (inFlight < stream.Lanes && queue.Count > 0)
            {
                var batch = new double[Math.Min(stream.MaxBatch, queue.Count)];
                for (var i = 0; i < batch.Length; i++)
                {
                    batch[i] = queue.Dequeue();
                }
                inFlight++;
                batches++;
                batched += batch.Length;
                ready.Add(batch);
            }
            return ready;
        }

        private void SignalIfDrained()
        {
            if (closed && inFlight == 0 && queue.Count == 0)
            {
                drained.TrySetResult();
            }
        }

        private void Start(List<double[]> ready)
        {
            foreach (var batch in ready)
            {
                _ = RunAsync(batch);
            }
        }

        private async Task RunAsync(double[] batch)
        {
            var ok = true;
            try
            {
                var (data, outputs) = inputs(stream.Model, batch.Length);
                await device.RunAsync(stream.Model, data, outputs);
            }
            catch (Exception)
            {
                // Whatever a batch fails with, its requests count as failed; an uncaught fault would leave its lane
                // taken and every later request unaccounted for.
                ok = false;
            }
            var done = clock.Elapsed.TotalMilliseconds;
            List<double[]> ready;
            lock (gate)
            {
                foreach (var scheduled in batch)
                {
                    if (!ok)
                    {
                        failed++;
                        continue;
                    }
                    var latency = done - scheduled;
                    latencies.Add(latency);
                    if (latency <= stream.SloMs)
                    {
                        within++;
                    }
                    else
                    {
                        over++;
                    }
                }
                inFlight--;
                ready = TakeBatches();
                SignalIfDrained();
            }
            Start(ready);
        }
    }
}
