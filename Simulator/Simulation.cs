using System.Diagnostics;
using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Runtime;

namespace OrleansServe.Simulator;

/// <summary>
/// A discrete-event simulation of a <see cref="SchedulePlan"/> serving a request stream, in simulated milliseconds.
/// </summary>
/// <remarks>
/// Semantics, in the order a request meets them:
/// <list type="bullet">
/// <item>A request of a model the plan leaves unscheduled (or does not mention) is a violation on arrival.</item>
/// <item>A model with gpulet assignments queues at one of them: the one whose backlog over assigned rate is least.</item>
/// <item>A swap-served model without an assignment is bound on arrival to a GPU (where it is resident, unless that
/// GPU's swap backlog is a batch longer than another's) and served there by the largest gpulet after its own models.</item>
/// <item>A gpulet runs rounds: each of its models in turn takes up to its batch from its queue and runs it; the next
/// round starts at once (work-conserving, the default) or a duty cycle after this one started (paced; at once if the
/// round overran). A round with no batch makes the gpulet idle; the next arrival for it starts a round at once.</item>
/// <item>A batch runs for the solo latency at the batch actually taken, times the predicted slowdown from the model
/// running on a neighbouring gpulet of the same GPU at the batch's start (fixed for the batch).</item>
/// <item>Under <see cref="DropPolicy.DropExpired"/>, requests whose batch (at solo latency) would end after their
/// deadline are dropped at dispatch, oldest first.</item>
/// <item>A swap-served model must be resident on the GPU: a miss evicts least-recently-used swap-served models that are
/// neither running nor loading until it fits, then waits for the GPU's PCIe link (one transfer at a time) and moves
/// WeightBytes at PcieBytesPerSecond before the batch starts. Models of the plan that are not swap-served stay resident.</item>
/// </list>
/// </remarks>
public static class Simulation
{
    /// <summary>Runs the input to the end of its arrivals plus the drain window; deterministic for an input and seed.</summary>
    public static SimulationResult Run(SimulationInput input)
    {
        var stopwatch = Stopwatch.StartNew();
        var engine = new Engine(input);
        engine.Run();
        stopwatch.Stop();
        return engine.Result(stopwatch.Elapsed.TotalSeconds);
    }

    private static double[] Filled(int length, double value)
    {
        var array = new double[length];
        Array.Fill(array, value);
        return array;
    }

    private sealed class Slot(int gpulet, int model, double[] latency, double rateRps, int plannedBatch)
    {
        public readonly int Gpulet = gpulet;
        public readonly int Model = model;
        public readonly double[] Latency = latency;

        /// <summary>The plan's batch; the latency table may go further when dynamic batching is on.</summary>
        public readonly int PlannedBatch = plannedBatch;
        public readonly double RateRps = rateRps;
        public readonly RequestQueue Queue = new();
    }

    private sealed class GpuletState(int gpu, int partition, double cycleMs)
    {
        public readonly int Gpu = gpu;
        public readonly int Partition = partition;
        public readonly double CycleMs = cycleMs;
        public readonly List<int> Slots = [];
        public int[] Neighbours = [];
        public bool HostsSwapPool;
        public int NextSlot;
        public bool InRound;
        public double RoundStart;
        public bool HadBatch;
        public bool Idle = true;
        public double BusyStart;
        public double BusyUntil;
        public int RunningModel = -1;
    }

    private sealed class GpuState(int models)
    {
        public long FreeBytes;
        public double PcieFreeAt;
        public int PoolGpulet = -1;
        public int PoolBacklog;
        public readonly List<int> Resident = [];
        public readonly double[] ReadyAt = Filled(models, double.NaN);
        public readonly double[] LastUse = new double[models];
        public readonly RequestQueue?[] PoolQueues = new RequestQueue?[models];
        public readonly double[]?[] PoolLatency = new double[]?[models];
        public readonly IndexQueue Ready = new();
    }

    private sealed class Engine
    {
        private readonly SimulationInput input;
        private readonly SimulationOptions options;
        private readonly EventQueue events = new();
        private readonly string[] names;
        private readonly double[] slo;
        private readonly long[] memory;
        private readonly double[] swapMs;
        private readonly bool[] swapped;
        private readonly bool[] pooled;
        private readonly int[][] routes;
        private readonly long[] requests;
        private readonly long[] withinSlo;
        private readonly long[] dropped;
        private readonly long[] swapIns;
        private readonly double[][] latencies;
        private readonly int[] latencyCount;
        private readonly List<Slot> slots = [];
        private readonly List<GpuletState> gpulets = [];
        private readonly List<GpuState> gpus = [];
        private readonly ArrivalSource arrivals;
        private readonly double durationMs;
        private readonly double endMs;
        private double now;

        public Engine(SimulationInput input)
        {
            this.input = input;
            options = input.Options;
            durationMs = input.DurationSeconds * 1000;
            var demands = input.Demands;
            var n = demands.Count;
            names = [.. demands.Select(d => d.Model.Name)];
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < n; i++)
            {
                index.Add(names[i], i);
            }
            slo = [.. demands.Select(d => d.Model.SloMs)];
            memory = [.. demands.Select(d => d.Model.MemoryBytes)];
            swapMs = [.. demands.Select(d => d.Model.WeightBytes / input.Cluster.PcieBytesPerSecond * 1000)];
            var swapServed = input.Plan.SwapServed.ToHashSet(StringComparer.Ordinal);
            swapped = [.. names.Select(swapServed.Contains)];
            requests = new long[n];
            withinSlo = new long[n];
            dropped = new long[n];
            swapIns = new long[n];
            latencyCount = new int[n];
            latencies = [.. demands.Select(d => new double[(int)Math.Min(1 << 20, (d.RateRps * input.DurationSeconds * 1.2) + 16)])];

            var routeLists = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
            var unscheduled = input.Plan.Unscheduled;
            foreach (var gpuPlan in input.Plan.Gpus)
            {
                var gpu = new GpuState(n);
                var gpuIndex = gpus.Count;
                gpus.Add(gpu);
                var first = gpulets.Count;
                var pinned = new HashSet<int>();
                foreach (var gpulet in gpuPlan.Gpulets)
                {
                    var cycle = gpulet.Models.Count == 0 ? 0 : gpulet.Models.Max(a => a.DutyCycleMs);
                    var state = new GpuletState(gpuIndex, gpulet.Partition, cycle);
                    var g = gpulets.Count;
                    gpulets.Add(state);
                    foreach (var assignment in gpulet.Models)
                    {
                        if (!index.TryGetValue(assignment.Model, out var m) || unscheduled.ContainsKey(assignment.Model))
                        {
                            continue;
                        }
                        state.Slots.Add(slots.Count);
                        routeLists[m].Add(slots.Count);
                        var planned = Math.Max(1, assignment.Batch);
                        slots.Add(new Slot(g, m, LatencyTable(assignment.Model, gpulet.Partition, Math.Max(planned, options.DynamicBatchLimit)), assignment.RateRps, planned));
                        if (!swapped[m])
                        {
                            pinned.Add(m);
                        }
                    }
                }
                if (gpulets.Count == first)
                {
                    // A GPU given to swapped models without a gpulet of its own runs them on the whole GPU.
                    gpulets.Add(new GpuletState(gpuIndex, 100, 0));
                }
                var onGpu = Enumerable.Range(first, gpulets.Count - first).ToArray();
                foreach (var g in onGpu)
                {
                    gpulets[g].Neighbours = [.. onGpu.Where(h => h != g)];
                }
                gpu.PoolGpulet = onGpu.MaxBy(g => gpulets[g].Partition);
                gpu.FreeBytes = input.Cluster.GpuMemoryBytes - pinned.Sum(m => memory[m]);
            }

            pooled = new bool[n];
            for (var m = 0; m < n; m++)
            {
                if (swapped[m] && routeLists[m].Count == 0 && gpus.Count > 0 && !unscheduled.ContainsKey(names[m]))
                {
                    pooled[m] = true;
                    foreach (var gpu in gpus)
                    {
                        gpulets[gpu.PoolGpulet].HostsSwapPool = true;
                        gpu.PoolLatency[m] = LatencyTable(names[m], gpulets[gpu.PoolGpulet].Partition, options.SwapMaxBatch);
                    }
                }
            }
            routes = [.. routeLists.Select(r => r.ToArray())];

            var maxSlo = slo.Length == 0 ? 0 : slo.Max();
            endMs = durationMs + (options.DrainSloMultiple * maxSlo) + swapMs.DefaultIfEmpty(0).Max();
            arrivals = new ArrivalSource(input, index, durationMs);
        }

        public void Run()
        {
            while (true)
            {
                if (arrivals.HasNext && (events.Count == 0 || arrivals.TimeMs <= events.PeekTime))
                {
                    now = arrivals.TimeMs;
                    Arrive(arrivals.Model);
                    arrivals.Advance();
                    continue;
                }
                if (events.Count == 0 || events.PeekTime > endMs)
                {
                    break;
                }
                var (time, gpulet) = events.Pop();
                now = time;
                Resume(gpulet);
            }
            foreach (var slot in slots)
            {
                dropped[slot.Model] += slot.Queue.Count;
            }
            foreach (var gpu in gpus)
            {
                for (var m = 0; m < names.Length; m++)
                {
                    dropped[m] += gpu.PoolQueues[m]?.Count ?? 0;
                }
            }
        }

        public SimulationResult Result(double wallSeconds)
        {
            var outcomes = new List<ModelOutcome>(names.Length);
            for (var m = 0; m < names.Length; m++)
            {
                var completed = latencies[m].AsSpan(0, latencyCount[m]);
                completed.Sort();
                outcomes.Add(new ModelOutcome(names[m], requests[m], withinSlo[m], dropped[m], Percentile(completed, 0.50), Percentile(completed, 0.99), swapIns[m]));
            }
            var total = requests.Sum();
            var within = withinSlo.Sum();
            var used = 0;
            var served = new HashSet<int>();
            foreach (var gpu in gpus)
            {
                var onGpu = new HashSet<int>();
                foreach (var g in gpulets.Where(g => gpus[g.Gpu] == gpu))
                {
                    onGpu.UnionWith(g.Slots.Select(s => slots[s].Model));
                    if (g.HostsSwapPool)
                    {
                        onGpu.UnionWith(Enumerable.Range(0, names.Length).Where(m => pooled[m]));
                    }
                }
                if (onGpu.Count > 0)
                {
                    used++;
                    served.UnionWith(onGpu);
                }
            }
            return new SimulationResult(
                total,
                within,
                total == 0 ? 1 : within / (double)total,
                used,
                used == 0 ? 0 : served.Count / (double)used,
                outcomes,
                wallSeconds,
                wallSeconds > 0 ? total / wallSeconds : double.PositiveInfinity);
        }

        private static double Percentile(Span<double> sorted, double p) => Percentiles.NearestRank(sorted, p);

        private double[] LatencyTable(string model, int partition, int maxBatch)
        {
            var table = new double[maxBatch + 1];
            for (var b = 1; b <= maxBatch; b++)
            {
                table[b] = input.Latency.LatencyMs(model, partition, b);
            }
            return table;
        }

        private void Arrive(int m)
        {
            requests[m]++;
            var route = routes[m];
            if (route.Length > 0)
            {
                var best = route[0];
                if (route.Length > 1)
                {
                    var bestLoad = double.MaxValue;
                    foreach (var s in route)
                    {
                        var load = slots[s].Queue.Count / Math.Max(slots[s].RateRps, 1e-9);
                        if (load < bestLoad)
                        {
                            bestLoad = load;
                            best = s;
                        }
                    }
                }
                slots[best].Queue.Enqueue(now);
                Wake(slots[best].Gpulet);
            }
            else if (pooled[m])
            {
                var gpu = BindSwapped(m);
                var queue = gpu.PoolQueues[m] ??= new RequestQueue();
                if (queue.Count == 0)
                {
                    gpu.Ready.Enqueue(m);
                }
                queue.Enqueue(now);
                gpu.PoolBacklog++;
                Wake(gpu.PoolGpulet);
            }
            else
            {
                dropped[m]++;
            }
        }

        private GpuState BindSwapped(int m)
        {
            // Torpor binds late to a GPU that holds the model; here on arrival, to the one where it is resident
            // unless that costs a batch more backlog than the least-loaded GPU.
            GpuState best = gpus[0];
            var bestScore = int.MaxValue;
            foreach (var gpu in gpus)
            {
                var score = gpu.PoolBacklog + (double.IsNaN(gpu.ReadyAt[m]) ? options.SwapMaxBatch : 0);
                if (score < bestScore)
                {
                    bestScore = score;
                    best = gpu;
                }
            }
            return best;
        }

        private void Wake(int g)
        {
            var gpulet = gpulets[g];
            if (gpulet.Idle)
            {
                gpulet.Idle = false;
                events.Push(now, g);
            }
        }

        private void Resume(int g)
        {
            var gpulet = gpulets[g];
            while (true)
            {
                if (!gpulet.InRound)
                {
                    gpulet.InRound = true;
                    gpulet.RoundStart = now;
                    gpulet.HadBatch = false;
                    gpulet.NextSlot = 0;
                }
                var turns = gpulet.Slots.Count + (gpulet.HostsSwapPool ? 1 : 0);
                while (gpulet.NextSlot < turns)
                {
                    var turn = gpulet.NextSlot++;
                    var end = turn < gpulet.Slots.Count ? DispatchSlot(gpulet, slots[gpulet.Slots[turn]]) : DispatchPool(gpulet);
                    if (end >= 0)
                    {
                        gpulet.HadBatch = true;
                        events.Push(end, g);
                        return;
                    }
                }
                gpulet.InRound = false;
                if (!gpulet.HadBatch)
                {
                    gpulet.Idle = true;
                    return;
                }
                var next = options.Pacing == RoundPacing.Paced ? gpulet.RoundStart + gpulet.CycleMs : now;
                if (next > now)
                {
                    events.Push(next, g);
                    return;
                }
            }
        }

        private double DispatchSlot(GpuletState gpulet, Slot slot) =>
            Dispatch(gpulet, slot.Model, slot.Queue, slot.Latency, slot.PlannedBatch);

        private double DispatchPool(GpuletState gpulet)
        {
            var gpu = gpus[gpulet.Gpu];
            for (var tries = gpu.Ready.Count; tries > 0; tries--)
            {
                var m = gpu.Ready.Dequeue();
                var queue = gpu.PoolQueues[m]!;
                var before = queue.Count;
                var end = Dispatch(gpulet, m, queue, gpu.PoolLatency[m]!, options.SwapMaxBatch);
                gpu.PoolBacklog -= before - queue.Count;
                if (queue.Count > 0)
                {
                    gpu.Ready.Enqueue(m);
                }
                if (end >= 0)
                {
                    return end;
                }
            }
            return -1;
        }

        /// <summary>Takes and runs one batch of model m from the queue; returns its end time, or −1 when no batch ran.</summary>
        private double Dispatch(GpuletState gpulet, int m, RequestQueue queue, double[] latency, int planned)
        {
            if (queue.Count == 0)
            {
                return -1;
            }
            var gpu = gpus[gpulet.Gpu];
            var start = now;
            var resident = true;
            if (swapped[m])
            {
                resident = !double.IsNaN(gpu.ReadyAt[m]);
                start = resident ? Math.Max(now, gpu.ReadyAt[m]) : Math.Max(now, gpu.PcieFreeAt) + swapMs[m];
            }
            var maxBatch = latency.Length - 1;
            // Beyond the planned batch, take more only while the oldest request still makes its deadline.
            int Choose()
            {
                var count = Math.Min(queue.Count, maxBatch);
                while (count > planned && queue.Head + slo[m] < start + latency[count])
                {
                    count--;
                }
                return count;
            }
            var n = Choose();
            if (options.Drop == DropPolicy.DropExpired)
            {
                while (n > 0 && queue.Head + slo[m] < start + latency[n])
                {
                    queue.Dequeue();
                    dropped[m]++;
                    n = Choose();
                }
                if (n == 0)
                {
                    return -1;
                }
            }
            if (!resident)
            {
                if (!MakeRoom(gpu, m))
                {
                    // The model cannot fit beside the pinned ones even with every swapped model evicted.
                    for (var i = 0; i < n; i++)
                    {
                        queue.Dequeue();
                    }
                    dropped[m] += n;
                    return -1;
                }
                gpu.PcieFreeAt = start;
                gpu.ReadyAt[m] = start;
                gpu.FreeBytes -= memory[m];
                gpu.Resident.Add(m);
                swapIns[m]++;
            }

            var slowdown = 1.0;
            foreach (var h in gpulet.Neighbours)
            {
                var neighbour = gpulets[h];
                if (neighbour.RunningModel >= 0 && neighbour.BusyStart <= start && start < neighbour.BusyUntil)
                {
                    slowdown = Math.Max(slowdown, input.Interference.Slowdown(names[m], gpulet.Partition, names[neighbour.RunningModel], neighbour.Partition));
                }
            }
            var end = start + (latency[n] * slowdown);
            for (var i = 0; i < n; i++)
            {
                var waited = end - queue.Dequeue();
                Record(m, waited);
            }
            gpu.LastUse[m] = end;
            gpulet.BusyStart = start;
            gpulet.BusyUntil = end;
            gpulet.RunningModel = m;
            return end;
        }

        private void Record(int m, double latencyMs)
        {
            if (latencyMs <= slo[m] + 1e-9)
            {
                withinSlo[m]++;
            }
            var store = latencies[m];
            if (latencyCount[m] == store.Length)
            {
                Array.Resize(ref latencies[m], store.Length * 2);
            }
            latencies[m][latencyCount[m]++] = latencyMs;
        }

        private bool MakeRoom(GpuState gpu, int m)
        {
            while (gpu.FreeBytes < memory[m])
            {
                var victim = -1;
                for (var i = 0; i < gpu.Resident.Count; i++)
                {
                    var r = gpu.Resident[i];
                    if (gpu.ReadyAt[r] > now || Running(gpu, r))
                    {
                        continue;
                    }
                    if (victim < 0 || gpu.LastUse[r] < gpu.LastUse[gpu.Resident[victim]])
                    {
                        victim = i;
                    }
                }
                if (victim < 0)
                {
                    return false;
                }
                var evicted = gpu.Resident[victim];
                gpu.Resident.RemoveAt(victim);
                gpu.ReadyAt[evicted] = double.NaN;
                gpu.FreeBytes += memory[evicted];
            }
            return true;
        }

        private bool Running(GpuState gpu, int m)
        {
            foreach (var g in gpulets)
            {
                if (gpus[g.Gpu] == gpu && g.RunningModel == m && g.BusyUntil > now)
                {
                    return true;
                }
            }
            return false;
        }
    }
}
