using System.Text.Json.Nodes;

namespace OrleansServe.Cli.UnitTests.Acceptance;

public sealed class AcceptanceReportTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("orleansserve-report-").FullName;

    private static JsonNode Bench(params (string Model, int Batch, double Ms, double? Parity, string? Error)[] rows) => new JsonObject
    {
        ["device"] = "cuda: NVIDIA H200",
        ["results"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject
        {
            ["model"] = r.Model, ["batch"] = r.Batch, ["median_ms"] = r.Ms, ["end_to_end_median_ms"] = r.Ms + 1,
            ["max_relative_error_vs_ort"] = r.Parity, ["error"] = r.Error,
        })]),
    };

    private static JsonNode Torch(params (string Model, int Batch, string Mode, double Ms)[] rows) => new JsonObject
    {
        ["device"] = "NVIDIA H200",
        ["results"] = new JsonArray([.. rows.Select(r => (JsonNode)new JsonObject
        {
            ["model"] = r.Model, ["batch"] = r.Batch, ["mode"] = r.Mode, ["median_ms"] = r.Ms, ["status"] = "ok",
        })]),
    };

    private static JsonNode Bandwidth(double pinnedBest) => new JsonObject
    {
        ["bandwidth"] = new JsonArray(
            new JsonObject { ["memory"] = "pageable", ["bytes"] = 1 << 20, ["best_gb_per_second"] = 10.0 },
            new JsonObject { ["memory"] = "pinned", ["bytes"] = 1 << 20, ["best_gb_per_second"] = pinnedBest }),
    };

    private static AcceptanceResults Results(
        JsonNode? latency = null, JsonNode? graphs = null, JsonNode? torch = null, JsonNode? bandwidth = null, JsonNode? torchBandwidth = null,
        JsonNode? swap = null, JsonNode? parityTiny = null) =>
        new(null, parityTiny, null, latency, graphs, torch, bandwidth, torchBandwidth, swap, null, null, null);

    private static GoalStatus Status(IReadOnlyList<Goal> goals, string name) => goals.Single(g => g.Name == name).Status;

    [Fact]
    public void Latency_goals_compare_the_engine_with_pytorch_eager_at_batch_8_and_its_best_at_batch_1()
    {
        var goals = AcceptanceReport.Goals(Results(
            latency: Bench(("resnet50", 8, 15, null, null), ("resnet50", 1, 3, null, null), ("bert_base", 8, 20, null, null), ("bert_base", 1, 5, null, null)),
            graphs: Bench(("resnet50", 1, 1.5, null, null)),
            torch: Torch(("resnet50", 8, "eager", 10), ("resnet50", 1, "eager", 2), ("resnet50", 1, "cuda_graph", 1),
                ("bert_base", 8, "eager", 10), ("bert_base", 1, "eager", 6))));

        Assert.Equal(GoalStatus.Met, Status(goals, "engine ≤ 1.5× PyTorch eager, resnet50 batch 8")); // exactly 1.5
        Assert.Equal(GoalStatus.NotMet, Status(goals, "engine ≤ 1.5× PyTorch eager, bert_base batch 8")); // 2.0
        // 3 ms by launches but 1.5 ms from a CUDA graph, against PyTorch eager's 2 ms (not its graph's 1 ms).
        Assert.Equal(GoalStatus.Met, Status(goals, "engine faster than PyTorch eager, resnet50 batch 1 (best of kernel launches and CUDA graph)"));
        Assert.Equal(GoalStatus.Met, Status(goals, "engine faster than PyTorch eager, bert_base batch 1 (best of kernel launches and CUDA graph)"));
    }

    [Fact]
    public void A_goal_without_its_peers_figure_is_not_measured_and_says_which_is_missing()
    {
        var goals = AcceptanceReport.Goals(Results(latency: Bench(("resnet50_tiny", 8, 15, null, null)), bandwidth: Bandwidth(20)));

        var latency = goals.Single(g => g.Name == "engine ≤ 1.5× PyTorch eager, resnet50 batch 8");
        Assert.Equal((GoalStatus.NotMeasured, "no PyTorch figure"), (latency.Status, latency.Figure));
        Assert.Equal(GoalStatus.NotMeasured, Status(goals, "pinned bandwidth ≥ 0.9× PyTorch's best"));
        Assert.Equal("no engine figure; no PyTorch figure", goals.Single(g => g.Name == "engine ≤ 1.5× PyTorch eager, bert_base batch 8").Figure);
    }

    [Theory]
    [InlineData(45.0, GoalStatus.Met)]
    [InlineData(44.0, GoalStatus.NotMet)]
    public void Pinned_bandwidth_must_reach_nine_tenths_of_pytorchs_best(double engine, GoalStatus status)
    {
        var goals = AcceptanceReport.Goals(Results(bandwidth: Bandwidth(engine), torchBandwidth: Bandwidth(50)));

        Assert.Equal(status, Status(goals, "pinned bandwidth ≥ 0.9× PyTorch's best"));
    }

    [Fact]
    public void Swap_in_and_cold_start_goals_are_judged_per_model_from_the_swap_figures()
    {
        var swap = new JsonObject
        {
            ["swap_in"] = new JsonArray(
                new JsonObject { ["model"] = "resnet50", ["median_ms"] = 2.1, ["expected_ms"] = 2.0, ["ratio"] = 1.05 },
                new JsonObject { ["model"] = "vgg16", ["median_ms"] = 12.0, ["expected_ms"] = 10.0, ["ratio"] = 1.2 }),
            ["cold_start"] = new JsonArray(new JsonObject
            {
                ["model"] = "resnet50",
                ["warm_ms"] = 4.0,
                ["pipelined_cold_ms"] = 5.0,
                ["transfer_ms"] = 2.1,
                ["cold_over_warm"] = 1.25,
                ["cold_over_transfer"] = 2.4,
                ["regime"] = "compute-bound",
                ["goal_met"] = false,
                ["transfer_then_run_cold_ms"] = 6.0,
            }),
        };

        var goals = AcceptanceReport.Goals(Results(swap: swap));

        Assert.Equal(GoalStatus.Met, Status(goals, "swap-in ≤ 1.1× bytes ÷ bandwidth, resnet50"));
        Assert.Equal(GoalStatus.NotMet, Status(goals, "swap-in ≤ 1.1× bytes ÷ bandwidth, vgg16"));
        Assert.Equal(GoalStatus.NotMet, Status(goals, "ResNet-50 batch 1 cold/warm ≤ 1.15 (else cold ≤ 1.1× transfer)"));
    }

    [Fact]
    public void Parity_holds_only_when_every_model_and_batch_ran_within_the_bound()
    {
        var within = AcceptanceReport.Goals(Results(parityTiny: Bench(("lenet5_tiny", 1, 1, 3e-7, null), ("lenet5_tiny", 3, 1, 9e-5, null))));
        var failedOne = AcceptanceReport.Goals(Results(parityTiny: Bench(("lenet5_tiny", 1, 1, 3e-7, null), ("vgg16_tiny", 1, 0, null, "CuBlasException: boom"))));
        var drifted = AcceptanceReport.Goals(Results(parityTiny: Bench(("lenet5_tiny", 1, 1, 2e-4, null))));

        const string goal = "parity ≤ 1e-4 of the output scale, tiny models at batch 1 and 3";
        Assert.Equal(GoalStatus.Met, Status(within, goal));
        Assert.Equal(GoalStatus.NotMet, Status(failedOne, goal));
        Assert.Contains("1 failed (vgg16_tiny batch 1)", failedOne.Single(g => g.Name == goal).Figure);
        Assert.Equal(GoalStatus.NotMet, Status(drifted, goal));
    }

    [Fact]
    public void Models_a_time_budget_kept_from_running_leave_parity_unmeasured_not_failed()
    {
        var goals = AcceptanceReport.Goals(Results(parityTiny: Bench(("lenet5_tiny", 1, 1, 3e-7, null), ("vgg16_tiny", 1, 0, null, "skipped: time budget spent"))));

        var parity = goals.Single(g => g.Name == "parity ≤ 1e-4 of the output scale, tiny models at batch 1 and 3");
        Assert.Equal(GoalStatus.NotMeasured, parity.Status);
        Assert.Equal("1 of 1 model×batch within; worst 3.0e-7 (lenet5_tiny batch 1); 1 not run (skipped: time budget spent)", parity.Figure);
    }

    [Fact]
    public void Writes_the_eight_files_even_when_no_stage_left_anything_and_says_why_a_figure_is_missing()
    {
        var output = Directory.CreateDirectory(Path.Combine(work, "out")).FullName;
        var run = new AcceptanceSettings(DryRun: true, work, "python3", ".", ["dotnet", "cli.dll"]);
        File.WriteAllText(Path.Combine(output, "log.txt"), "log\n");
        StageOutcome[] outcomes = [new("pytorch-latency", "PyTorch", StageStatus.Failed, 2, 0.2, 50, "exit status 2: torch is not installed")];

        AcceptanceReport.Write(output, run, outcomes, DateTimeOffset.UnixEpoch);

        Assert.Equal(AcceptanceReport.Files.Order(), Directory.GetFiles(output).Select(Path.GetFileName).Order());
        var pytorch = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "pytorch.json")))!;
        Assert.Equal("stage pytorch-latency failed: exit status 2: torch is not installed", (string?)pytorch["latency"]?["missing"]);
        Assert.Equal("model,partition,batch,latency_ms,device,source\n", File.ReadAllText(Path.Combine(output, "profile.csv")));
        var summary = File.ReadAllText(Path.Combine(output, "summary.md"));
        Assert.Contains("| pytorch-latency | PyTorch | failed | 0.2 | 50 | exit status 2: torch is not installed |", summary);
        Assert.Contains("| engine ≤ 1.5× PyTorch eager, resnet50 batch 8 | no engine figure; no PyTorch figure | not measured |", summary);
    }

    public void Dispose() => Directory.Delete(work, recursive: true);
}
