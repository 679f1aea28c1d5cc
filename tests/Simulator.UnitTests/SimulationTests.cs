using OrleansServe.Scheduler;
using static OrleansServe.Simulator.UnitTests.Fixtures;

namespace OrleansServe.Simulator.UnitTests;

public class SimulationTests
{
    private static readonly SimulationOptions Paced = new(Pacing: RoundPacing.Paced);

    [Fact]
    public void Work_conserving_rounds_start_again_at_once_while_requests_wait()
    {
        // The trace of the paced case below: 0 runs alone (0→6); at 6 (the arrival at 6 joins) the batch {2, 4, 6}
        // runs (6→14), then {8} (14→20). Nothing waits for a duty cycle, so nothing is dropped.
        var model = Model("m", 16);
        var plan = OneGpu(new Gpulet(100, [Assign("m", batch: 4, dutyCycleMs: 10)]));
        var input = Trace(plan, [model], new BatchLatency(b => 5 + b), (0, "m"), (2, "m"), (4, "m"), (6, "m"), (8, "m"));

        var result = Simulation.Run(input);

        Assert.Equal(1.0, result.SloAttainment, 12);
        Assert.Equal(0, result.Outcome("m").Dropped);
        Assert.Equal(12, result.Outcome("m").P99Ms, 12);
    }

    [Fact]
    public void A_dynamic_batcher_takes_every_waiting_request_whose_deadline_the_larger_batch_still_meets()
    {
        // Planned batch 1, L(b) = 10 + b: three requests at 0 run as one batch of 3 (0→13), all within 20 ms;
        // with the plan's batch only, the second and third could only finish at 22 and are dropped.
        var plan = OneGpu(new Gpulet(100, [Assign("m")]));
        var input = Trace(plan, [Model("m", 20)], new BatchLatency(b => 10 + b), (0, "m"), (0, "m"), (0, "m"));

        Assert.Equal(1.0, Simulation.Run(input).SloAttainment, 12);
        Assert.Equal(1.0 / 3, Simulation.Run(input with { Options = new SimulationOptions(DynamicBatchLimit: 0) }).SloAttainment, 12);
    }

    [Fact]
    public void Hand_computed_duty_cycle_run_has_exact_latencies_and_attainment()
    {
        // L(b) = 5 + b ms, batch 4, duty cycle 10 ms, SLO 16 ms. The arrival at 0 starts a round and runs alone
        // (0→6). The next round starts at 10 with 2, 4, 6, 8 queued: 2 cannot finish a batch of 4 by 18, so it
        // is dropped, and 4, 6, 8 run as a batch of 3 (10→18).
        var model = Model("m", 16);
        var plan = OneGpu(new Gpulet(100, [Assign("m", batch: 4, dutyCycleMs: 10)]));
        var input = Trace(plan, [model], new BatchLatency(b => 5 + b), (0, "m"), (2, "m"), (4, "m"), (6, "m"), (8, "m"));

        var result = Simulation.Run(input with { Options = Paced });

        Assert.Equal(5, result.TotalRequests);
        Assert.Equal(4, result.WithinSlo);
        Assert.Equal(0.8, result.SloAttainment, 12);
        var outcome = result.Outcome("m");
        Assert.Equal(1, outcome.Dropped);
        Assert.Equal(10, outcome.P50Ms, 12);
        Assert.Equal(14, outcome.P99Ms, 12);
        Assert.Equal(1, result.GpusUsed);
        Assert.Equal(1, result.ModelsPerGpu);
    }

    [Fact]
    public void Requests_that_cannot_meet_their_slo_at_dispatch_are_dropped()
    {
        var plan = OneGpu(new Gpulet(100, [Assign("m")]));
        var input = Trace(plan, [Model("m", 15)], new BatchLatency(b => 10 * b), (0, "m"), (0, "m"), (0, "m"));

        var result = Simulation.Run(input);

        Assert.Equal(1, result.WithinSlo);
        Assert.Equal(2, result.Outcome("m").Dropped);
        Assert.Equal(10, result.Outcome("m").P99Ms, 12);
    }

    [Fact]
    public void Serve_all_policy_runs_late_requests_and_counts_them_as_violations()
    {
        var plan = OneGpu(new Gpulet(100, [Assign("m")]));
        var input = Trace(plan, [Model("m", 15)], new BatchLatency(b => 10 * b), (0, "m"), (0, "m"), (0, "m"))
            with
        { Options = new SimulationOptions(Drop: DropPolicy.ServeAll) };

        var result = Simulation.Run(input);

        Assert.Equal(1, result.WithinSlo);
        Assert.Equal(0, result.Outcome("m").Dropped);
        Assert.Equal(20, result.Outcome("m").P50Ms, 12);
        Assert.Equal(30, result.Outcome("m").P99Ms, 12);
    }

    [Fact]
    public void Arrival_at_the_same_instant_as_a_round_start_joins_that_round()
    {
        // The round after the first batch starts at 10; the request arriving at exactly 10 is in its batch.
        var plan = OneGpu(new Gpulet(100, [Assign("m", batch: 2, dutyCycleMs: 10)]));
        var input = Trace(plan, [Model("m", 100)], new BatchLatency(_ => 4), (0, "m"), (5, "m"), (10, "m"));

        var result = Simulation.Run(input with { Options = Paced });

        // Latencies: 4 (0→4), then 5 and 10 together at 10→14: 9 and 4.
        Assert.Equal(4, result.Outcome("m").P50Ms, 12);
        Assert.Equal(9, result.Outcome("m").P99Ms, 12);
    }

    [Fact]
    public void Models_sharing_a_gpulet_take_turns_within_its_round()
    {
        // a and b share one gpulet: a runs 0→10, then b 10→20, then a's second request waits for the next round (20→30).
        var plan = OneGpu(new Gpulet(100, [Assign("a"), Assign("b")]));
        var input = Trace(plan, [Model("a", 100), Model("b", 100)], new BatchLatency(_ => 10), (0, "a"), (0, "b"), (1, "a"));

        var result = Simulation.Run(input);

        Assert.Equal(10, result.Outcome("a").P50Ms, 9);
        Assert.Equal(29, result.Outcome("a").P99Ms, 9);
        Assert.Equal(20, result.Outcome("b").P50Ms, 9);
        Assert.Equal(2, result.ModelsPerGpu);
    }

    [Fact]
    public void Models_the_plan_leaves_unscheduled_count_every_request_as_a_violation()
    {
        var plan = new SchedulePlan(
            "test",
            [new GpuPlan(0, [new Gpulet(100, [Assign("a")])])],
            [],
            new Dictionary<string, string> { ["b"] = "no room" });
        var input = Trace(plan, [Model("a", 50), Model("b", 50)], new BatchLatency(_ => 1), (0, "a"), (1, "b"), (2, "b"), (3, "b"));

        var result = Simulation.Run(input);

        Assert.Equal(4, result.TotalRequests);
        Assert.Equal(0.25, result.SloAttainment, 12);
        Assert.Equal(3, result.Outcome("b").Dropped);
    }

    [Fact]
    public void Swap_in_delay_is_paid_once_and_the_least_recently_used_model_is_evicted_when_memory_is_full()
    {
        // 12 MB at 12 GB/s is 1 ms; the GPU holds only one of the two 600-byte models.
        var a = Model("a", 100, memoryBytes: 600, weightBytes: 12_000_000);
        var b = Model("b", 100, memoryBytes: 600, weightBytes: 12_000_000);
        var plan = new SchedulePlan("test", [new GpuPlan(0, [new Gpulet(100, [Assign("a"), Assign("b")])])], ["a", "b"], new Dictionary<string, string>());
        var input = Trace(plan, [a, b], new BatchLatency(_ => 10), (0, "a"), (100, "a"), (150, "a"), (200, "b"), (300, "a"))
            with
        { Cluster = Cluster(memoryBytes: 1000) };

        var result = Simulation.Run(input);

        var outcomeA = result.Outcome("a");
        Assert.Equal(2, outcomeA.SwapIns);
        Assert.Equal(1, result.Outcome("b").SwapIns);
        Assert.Equal(10, outcomeA.P50Ms, 9);
        Assert.Equal(11, outcomeA.P99Ms, 9);
        Assert.Equal(11, result.Outcome("b").P50Ms, 9);
    }

    [Fact]
    public void Swap_served_models_without_a_gpulet_are_loaded_on_demand_and_evicted_least_recently_used_first()
    {
        var models = new[] { "a", "b", "c" }.Select(n => Model(n, 100, memoryBytes: 600, weightBytes: 12_000_000)).ToArray();
        var plan = new SchedulePlan("test", [new GpuPlan(0, [])], ["a", "b", "c"], new Dictionary<string, string>());
        // Room for two: c's load at 200 evicts a (used at 0) rather than b (used at 100), so b is still resident at 300
        // and a must load again at 400.
        var input = Trace(plan, models, new BatchLatency(_ => 10), (0, "a"), (100, "b"), (200, "c"), (300, "b"), (400, "a"))
            with
        { Cluster = Cluster(memoryBytes: 1200) };

        var result = Simulation.Run(input);

        Assert.Equal(2, result.Outcome("a").SwapIns);
        Assert.Equal(1, result.Outcome("b").SwapIns);
        Assert.Equal(1, result.Outcome("c").SwapIns);
        Assert.Equal(1.0, result.SloAttainment);
        Assert.Equal(3, result.ModelsPerGpu);
    }

    [Fact]
    public void Swap_ins_on_one_gpu_wait_for_its_single_pcie_link()
    {
        var a = Model("a", 100, weightBytes: 12_000_000);
        var b = Model("b", 100, weightBytes: 12_000_000);
        var plan = new SchedulePlan("test", [new GpuPlan(0, [new Gpulet(50, [Assign("a")]), new Gpulet(50, [Assign("b")])])], ["a", "b"], new Dictionary<string, string>());
        var input = Trace(plan, [a, b], new BatchLatency(_ => 10), (0, "a"), (0, "b"));

        var result = Simulation.Run(input);

        Assert.Equal(11, result.Outcome("a").P50Ms, 9);
        Assert.Equal(12, result.Outcome("b").P50Ms, 9);
    }

    [Fact]
    public void Interference_slows_a_batch_only_while_the_neighbouring_gpulet_is_busy()
    {
        // b runs 0→10 on the neighbour: a's batch at 5 takes 2×10 ms; a's batch at 100 runs alone in 10 ms.
        var plan = OneGpu(new Gpulet(50, [Assign("a")]), new Gpulet(50, [Assign("b")]));
        var input = Trace(plan, [Model("a", 100), Model("b", 100)], new BatchLatency(_ => 10), (0, "b"), (5, "a"), (100, "a"))
            with
        { Interference = new PairInterference("a", "b", 2.0) };

        var result = Simulation.Run(input);

        Assert.Equal(10, result.Outcome("a").P50Ms, 9);
        Assert.Equal(20, result.Outcome("a").P99Ms, 9);
        Assert.Equal(10, result.Outcome("b").P50Ms, 9);
    }

    [Fact]
    public void Requests_of_a_replicated_model_go_to_the_gpulet_with_the_least_backlog()
    {
        // Two replicas on two GPUs: three simultaneous requests spread so none waits behind two others.
        var plan = new SchedulePlan(
            "test",
            [new GpuPlan(0, [new Gpulet(100, [Assign("m")])]), new GpuPlan(1, [new Gpulet(100, [Assign("m")])])],
            [],
            new Dictionary<string, string>());
        var input = Trace(plan, [Model("m", 100)], new BatchLatency(_ => 10), (0, "m"), (0, "m"), (0, "m"), (0, "m"));

        // The plan's batch of 1 only: a dynamic batcher would take both waiting requests at once.
        var result = Simulation.Run(input with { Options = new SimulationOptions(DynamicBatchLimit: 0) });

        Assert.Equal(20, result.Outcome("m").P99Ms, 9);
        Assert.Equal(2, result.GpusUsed);
    }

    [Fact]
    public void Same_seed_gives_the_same_result_and_another_seed_a_different_one()
    {
        var workload = Workloads.Scenario(3);
        var cluster = Cluster(gpus: 3);
        var latency = new AnalyticLatencyModel();
        var plan = new WholeGpuPlanner().Plan(workload.Demands(300), cluster, latency, NoInterference.Instance);

        SimulationResult Run(int seed) => Simulation.Run(SimulationInput.ForWorkload(plan, workload, 300, cluster, latency, NoInterference.Instance, 5, seed));
        var first = Run(7);
        var second = Run(7);
        var other = Run(8);

        Assert.Equal(first.TotalRequests, second.TotalRequests);
        Assert.Equal(first.WithinSlo, second.WithinSlo);
        Assert.Equal(first.Models, second.Models);
        Assert.NotEqual(first.Models, other.Models);
    }

    [Fact]
    public void Poisson_arrivals_match_the_demanded_rates()
    {
        var workload = Workloads.Scenario(1);
        var cluster = Cluster(gpus: 4);
        var latency = new AnalyticLatencyModel();
        var plan = new WholeGpuPlanner().Plan(workload.Demands(400), cluster, latency, NoInterference.Instance);

        var result = Simulation.Run(SimulationInput.ForWorkload(plan, workload, 400, cluster, latency, NoInterference.Instance, 50, 1));

        // 100 req/s per model for 50 s: 5000 each, within a few standard deviations (√5000 ≈ 71).
        Assert.All(result.Models, m => Assert.InRange(m.Requests, 4700, 5300));
    }
}
