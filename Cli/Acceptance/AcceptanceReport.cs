using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansServe.Cli.Benchmarks;

namespace OrleansServe.Cli.Acceptance;

/// <summary>Whether a goal of the run holds.</summary>
public enum GoalStatus
{
    Met,
    NotMet,

    /// <summary>A figure it needs is missing (a stage failed, was skipped, or the peer did not run).</summary>
    NotMeasured,
}

/// <summary>One goal of the first GPU run, with the figures it was judged on.</summary>
public sealed record Goal(string Name, string Figure, GoalStatus Status)
{
    public string StatusText => Status switch { GoalStatus.Met => "met", GoalStatus.NotMet => "**not met**", _ => "not measured" };
}

/// <summary>What the stages left in the work folder, read back (null where a file is missing or unreadable).</summary>
public sealed record AcceptanceResults(
    JsonNode? Smoke, JsonNode? ParityTiny, JsonNode? ParityFull, JsonNode? Latency, JsonNode? LatencyGraphs, JsonNode? PyTorchLatency,
    JsonNode? Bandwidth, JsonNode? PyTorchBandwidth, JsonNode? Swap, JsonNode? Share, JsonNode? Pairs, JsonNode? Green)
{
    /// <summary>Reads the stages' JSON files from <paramref name="workFolder"/>.</summary>
    public static AcceptanceResults Read(string workFolder)
    {
        JsonNode? Json(string file)
        {
            try
            {
                var path = Path.Combine(workFolder, file);
                return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path)) : null;
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                return new JsonObject { ["unreadable"] = $"{file}: {e.Message}" };
            }
        }
        return new(Json("smoke.json"), Json("parity-tiny.json"), Json("parity-full.json"), Json("latency.json"), Json("latency-graphs.json"),
            Json("pytorch-latency.json"), Json("bandwidth.json"), Json("pytorch-bandwidth.json"), Json("swap.json"), Json("share.json"),
            Json("pairs.json"), Json("green.json"));
    }
}

/// <summary>
/// The eight files an acceptance run brings back: summary.md (every goal marked met or not with its figure, every
/// stage with its outcome), env.txt, engine.json, pytorch.json, swap.json, profile.csv, pairs.csv and log.txt (the
/// last written by the stage runner as the run goes). Written after every stage, so a run cut short keeps what it has.
/// </summary>
public static class AcceptanceReport
{
    /// <summary>The files, in the order the summary lists them.</summary>
    public static readonly string[] Files = ["summary.md", "env.txt", "engine.json", "pytorch.json", "swap.json", "profile.csv", "pairs.csv", "log.txt"];

    /// <summary>The parity bound: max |engine − ONNX Runtime| over the output's scale (max(1, max |ONNX Runtime|)).</summary>
    public const double ParityTolerance = 1e-4;

    /// <summary>Writes every file but log.txt into <paramref name="outFolder"/>.</summary>
    public static void Write(string outFolder, AcceptanceSettings run, IReadOnlyList<StageOutcome> outcomes, DateTimeOffset started)
    {
        var results = AcceptanceResults.Read(run.WorkFolder);
        // A figure's place holds the stage's own file, or why the stage left none.
        JsonNode? Of(JsonNode? node, string stage) => node?.DeepClone() ?? (outcomes.FirstOrDefault(o => o.Name == stage) is { } o
            ? new JsonObject { ["missing"] = $"stage {stage} {o.Status.ToString().ToLowerInvariant()}{(o.Detail.Length > 0 ? $": {o.Detail}" : "")}" }
            : new JsonObject { ["missing"] = $"stage {stage} has not run" });
        var stages = JsonSerializer.SerializeToNode(outcomes.Select(o => new { o.Name, o.Title, status = o.Status.ToString().ToLowerInvariant(), o.ExitCode, o.Seconds, o.DeadlineSeconds, o.Detail }), BenchmarkJson.Options);
        Json(outFolder, "engine.json", new JsonObject
        {
            ["dry_run"] = run.DryRun,
            ["device"] = run.Device,
            ["started"] = started.ToString("O", CultureInfo.InvariantCulture),
            ["stages"] = stages,
            ["smoke"] = Of(results.Smoke, "smoke"),
            ["parity_tiny"] = Of(results.ParityTiny, "parity-tiny"),
            ["parity_full"] = Of(results.ParityFull, "parity-full"),
            ["latency"] = Of(results.Latency, "latency"),
            ["latency_cuda_graphs"] = Of(results.LatencyGraphs, "latency-graphs"),
            ["green"] = Of(results.Green, "green"),
        });
        Json(outFolder, "pytorch.json", new JsonObject
        {
            ["latency"] = Of(results.PyTorchLatency, "pytorch-latency"),
            ["bandwidth"] = Of(results.PyTorchBandwidth, "pytorch-bandwidth"),
        });
        Json(outFolder, "swap.json", new JsonObject
        {
            ["bandwidth"] = Of(results.Bandwidth, "bandwidth"),
            ["swap"] = Of(results.Swap, "swap"),
            ["share"] = Of(results.Share, "share"),
            ["pairs"] = Of(results.Pairs, "pairs"),
        });
        Copy(run.Work("profile.csv"), Path.Combine(outFolder, "profile.csv"), "model,partition,batch,latency_ms,device,source");
        Copy(run.Work("pairs.csv"), Path.Combine(outFolder, "pairs.csv"), "model,partition,neighbour,neighbour_partition,batch,solo_ms,colocated_ms,slowdown");
        var env = new StringBuilder();
        foreach (var stage in new[] { "env", "smoke" })
        {
            env.Append(CultureInfo.InvariantCulture, $"## {stage}\n");
            var log = run.Work(stage + ".log");
            env.Append(File.Exists(log) ? File.ReadAllText(log) : "(the stage left no output)\n").Append('\n');
        }
        File.WriteAllText(Path.Combine(outFolder, "env.txt"), env.ToString());
        File.WriteAllText(Path.Combine(outFolder, "summary.md"), Summary(run, outcomes, results, started));
    }

    /// <summary>The goals of the first GPU run (issue 13), each judged on its figures.</summary>
    public static IReadOnlyList<Goal> Goals(AcceptanceResults results)
    {
        var goals = new List<Goal>();
        var engine = Rows(results.Latency);
        var graphs = Rows(results.LatencyGraphs);
        var torch = Rows(results.PyTorchLatency);
        foreach (var model in new[] { "resnet50", "bert_base" })
        {
            var eight = Latency(engine, model, 8);
            var eightTorch = Eager(torch, model, 8);
            goals.Add(Ratio($"engine ≤ 1.5× PyTorch eager, {model} batch 8", eight, eightTorch, 1.5, inclusive: true, "engine"));
            var one = Best(Latency(engine, model, 1), Latency(graphs, model, 1));
            goals.Add(Ratio($"engine faster than PyTorch eager, {model} batch 1 (best of kernel launches and CUDA graph)", one, Eager(torch, model, 1), 1.0, inclusive: false, "engine"));
        }

        var pinned = BestPinned(results.Bandwidth?["bandwidth"]);
        var torchPinned = BestPinned(results.PyTorchBandwidth?["bandwidth"]);
        goals.Add(pinned is { } p && torchPinned is { } t
            ? new Goal("pinned bandwidth ≥ 0.9× PyTorch's best", F($"{p:0.0} GB/s against {t:0.0} GB/s = {p / t:0.00}×"), p >= 0.9 * t ? GoalStatus.Met : GoalStatus.NotMet)
            : new Goal("pinned bandwidth ≥ 0.9× PyTorch's best", Missing(("engine", pinned), ("PyTorch", torchPinned)), GoalStatus.NotMeasured));

        var swapIns = results.Swap?["swap_in"]?.AsArray() ?? [];
        if (swapIns.Count == 0)
        {
            goals.Add(new Goal("swap-in ≤ 1.1× bytes ÷ bandwidth", "no swap-in was measured", GoalStatus.NotMeasured));
        }
        foreach (var point in swapIns)
        {
            var ratio = Number(point?["ratio"]);
            goals.Add(new Goal($"swap-in ≤ 1.1× bytes ÷ bandwidth, {(string?)point?["model"]}",
                F($"{Number(point?["median_ms"]):0.000} ms against {Number(point?["expected_ms"]):0.000} ms = {ratio:0.00}×"),
                ratio is { } r ? (r <= 1.1 ? GoalStatus.Met : GoalStatus.NotMet) : GoalStatus.NotMeasured));
        }

        var cold = results.Swap?["cold_start"]?.AsArray().FirstOrDefault(c => BaseName((string?)c?["model"]) == "resnet50");
        goals.Add(cold is null
            ? new Goal("ResNet-50 batch 1 cold/warm ≤ 1.15 (else cold ≤ 1.1× transfer)", "no cold start was measured", GoalStatus.NotMeasured)
            : new Goal("ResNet-50 batch 1 cold/warm ≤ 1.15 (else cold ≤ 1.1× transfer)",
                F($"cold {Number(cold["pipelined_cold_ms"]):0.000} ms, warm {Number(cold["warm_ms"]):0.000} ms ({Number(cold["cold_over_warm"]):0.00}×), transfer {Number(cold["transfer_ms"]):0.000} ms ({Number(cold["cold_over_transfer"]):0.00}×), {(string?)cold["regime"]}; transfer-then-run {Number(cold["transfer_then_run_cold_ms"]):0.000} ms"),
                (bool?)cold["goal_met"] == true ? GoalStatus.Met : GoalStatus.NotMet));

        foreach (var (name, parity) in new[] { ("tiny models at batch 1 and 3", results.ParityTiny), ("full-size models at batch 1", results.ParityFull) })
        {
            var rows = Rows(parity);
            // Rows a time budget or an unusable device kept from running are not failures of parity: they are unmeasured.
            var notRun = rows.Where(r => r.Error?.StartsWith("skipped", StringComparison.Ordinal) == true).ToList();
            var failed = rows.Where(r => r.Error is not null).Except(notRun).ToList();
            var measured = rows.Where(r => r.Error is null && r.Parity is not null).ToList();
            var goalName = $"parity ≤ 1e-4 of the output scale, {name}";
            var rest = (failed.Count > 0 ? $"; {failed.Count} failed ({string.Join(", ", failed.Select(f => $"{f.Model} batch {f.Batch}"))})" : "") +
                (notRun.Count > 0 ? $"; {notRun.Count} not run ({notRun[0].Error})" : "");
            if (measured.Count == 0)
            {
                goals.Add(new Goal(goalName, rows.Count == 0 ? "not measured" : $"none measured{rest}", GoalStatus.NotMeasured));
                continue;
            }
            var worst = measured.MaxBy(r => r.Parity)!;
            var within = measured.Count(r => r.Parity <= ParityTolerance);
            goals.Add(new Goal(goalName,
                F($"{within} of {measured.Count} model×batch within; worst {worst.Parity:0.0e+0} ({worst.Model} batch {worst.Batch})") + rest,
                failed.Count > 0 || within < measured.Count ? GoalStatus.NotMet : notRun.Count > 0 ? GoalStatus.NotMeasured : GoalStatus.Met));
        }
        return goals;
    }

    /// <summary>summary.md.</summary>
    public static string Summary(AcceptanceSettings run, IReadOnlyList<StageOutcome> outcomes, AcceptanceResults results, DateTimeOffset started)
    {
        var text = new StringBuilder();
        var device = (string?)results.Latency?["device"] ?? (string?)results.Swap?["device"] ?? run.Device;
        text.Append(CultureInfo.InvariantCulture, $"# GPU acceptance run{(run.DryRun ? " (dry run: ilgpu-cpu, tiny models)" : "")}\n\n");
        text.Append(CultureInfo.InvariantCulture, $"- started {started:yyyy-MM-dd HH:mm} UTC; device: {device}\n");
        if ((string?)results.Latency?["gemm"] is { } gemm)
        {
            text.Append(CultureInfo.InvariantCulture, $"- GEMM: {gemm}\n");
        }
        if ((string?)results.PyTorchLatency?["device"] is { } torchDevice)
        {
            text.Append(CultureInfo.InvariantCulture, $"- PyTorch: {torchDevice}, torch {(string?)results.PyTorchLatency?["torch"]}, driver {(string?)results.PyTorchLatency?["driver"]}\n");
        }
        foreach (var check in results.Smoke?["smoke"]?["checks"]?.AsArray() ?? [])
        {
            text.Append(CultureInfo.InvariantCulture, $"- smoke {(string?)check?["name"]}: {(string?)check?["outcome"]} — {Cell((string?)check?["detail"])}\n");
        }

        text.Append("\n## Goals\n\n| goal | figure | status |\n| --- | --- | --- |\n");
        foreach (var goal in Goals(results))
        {
            text.Append(CultureInfo.InvariantCulture, $"| {goal.Name} | {Cell(goal.Figure)} | {goal.StatusText} |\n");
        }

        text.Append("\n## Stages\n\n| stage | what | status | seconds | deadline | detail |\n| --- | --- | --- | ---: | ---: | --- |\n");
        foreach (var o in outcomes)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {o.Name} | {o.Title} | {o.Status.ToString().ToLowerInvariant()} | {o.Seconds:0.0} | {o.DeadlineSeconds:0} | {Cell(o.Detail)} |\n");
        }

        var engine = Rows(results.Latency);
        var graphs = Rows(results.LatencyGraphs);
        var torch = Rows(results.PyTorchLatency);
        if (engine.Count > 0)
        {
            text.Append("\n## Latency, ms (engine compute; PyTorch eager forward with synchronize)\n\n| model | batch | engine | engine end to end | engine CUDA graph | PyTorch | PyTorch CUDA graph | engine / PyTorch |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
            foreach (var row in engine)
            {
                var model = BaseName(row.Model);
                var eager = Eager(torch, model, row.Batch);
                text.Append(CultureInfo.InvariantCulture,
                    $"| {row.Model} | {row.Batch} | {Ms(row.Error is null ? row.Median : null)} | {Ms(row.EndToEnd)} | {Ms(Latency(graphs, model, row.Batch))} | {Ms(eager)} | {Ms(Graph(torch, model, row.Batch))} | {(row.Error is null && eager is { } e ? F($"{row.Median / e:0.00}") : row.Error is { } err ? Cell(err) : "")} |\n");
            }
        }

        foreach (var (title, parity) in new[] { ("tiny models", results.ParityTiny), ("full-size models", results.ParityFull) })
        {
            var rows = Rows(parity);
            if (rows.Count == 0)
            {
                continue;
            }
            text.Append(CultureInfo.InvariantCulture, $"\n## Parity against ONNX Runtime CPU, {title}\n\n| model | batch | max relative error | engine ms | error |\n| --- | ---: | ---: | ---: | --- |\n");
            foreach (var row in rows)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {row.Model} | {row.Batch} | {(row.Parity is { } p ? F($"{p:0.0e+0}") : "")} | {Ms(row.Error is null ? row.Median : null)} | {Cell(row.Error ?? "")} |\n");
            }
        }

        var bandwidth = results.Bandwidth?["bandwidth"]?.AsArray() ?? [];
        if (bandwidth.Count > 0)
        {
            var peer = results.PyTorchBandwidth?["bandwidth"]?.AsArray() ?? [];
            text.Append("\n## Host-to-device bandwidth, best GB/s\n\n| bytes | engine pageable | engine pinned | PyTorch pageable | PyTorch pinned |\n| ---: | ---: | ---: | ---: | ---: |\n");
            foreach (var bytes in bandwidth.Select(b => Number(b?["bytes"])).Distinct())
            {
                double? Point(JsonArray points, string memory) =>
                    Number(points.FirstOrDefault(b => Number(b?["bytes"]) == bytes && (string?)b?["memory"] == memory)?["best_gb_per_second"]);
                text.Append(CultureInfo.InvariantCulture, $"| {bytes:N0} | {Gb(Point(bandwidth, "pageable"))} | {Gb(Point(bandwidth, "pinned"))} | {Gb(Point(peer, "pageable"))} | {Gb(Point(peer, "pinned"))} |\n");
            }
            if (Number(results.Bandwidth?["pinned_knee_bytes"]) is { } knee)
            {
                text.Append(CultureInfo.InvariantCulture, $"\nPinned knee (90% of the best median): {knee:N0} bytes.\n");
            }
        }

        var coldStarts = results.Swap?["cold_start"]?.AsArray() ?? [];
        if (coldStarts.Count > 0)
        {
            text.Append("\n## Cold start at batch 1, ms\n\n| model | warm | pipelined | transfer-then-run | transfer | regime | goal |\n| --- | ---: | ---: | ---: | ---: | --- | --- |\n");
            foreach (var c in coldStarts)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {(string?)c?["model"]} | {Ms(Number(c?["warm_ms"]))} | {Ms(Number(c?["pipelined_cold_ms"]))} | {Ms(Number(c?["transfer_then_run_cold_ms"]))} | {Ms(Number(c?["transfer_ms"]))} | {(string?)c?["regime"]} | {((bool?)c?["goal_met"] == true ? "met" : "not met")} |\n");
            }
        }

        var share = results.Share?["share"]?.AsArray() ?? [];
        var expected = AcceptancePlan.SchedulerModels.Length * AcceptancePlan.Shares.Split(',').Length * AcceptancePlan.ShareBatches.Split(',').Length;
        text.Append(CultureInfo.InvariantCulture, $"\n## Profile table\n\n{share.Count} of {expected} rows (model × share × batch) measured, in profile.csv.\n");
        var pairs = results.Pairs?["pairs"]?.AsArray() ?? [];
        if (pairs.Count > 0)
        {
            text.Append("\n## Co-located pairs at batch 8\n\n| model | share | neighbour | share | solo ms | co-located ms | slowdown |\n| --- | ---: | --- | ---: | ---: | ---: | ---: |\n");
            foreach (var p in pairs)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {(string?)p?["model"]} | {Number(p?["partition"])} | {(string?)p?["neighbour"]} | {Number(p?["neighbour_partition"])} | {Ms(Number(p?["solo_ms"]))} | {Ms(Number(p?["co_located_ms"]))} | {F($"{Number(p?["slowdown"]):0.00}")} |\n");
            }
        }
        var green = results.Green?["green"]?.AsArray() ?? [];
        if (green.Count > 0)
        {
            text.Append("\n## Green context against grid caps, ms\n\n| model | batch | mode | SMs | median |\n| --- | ---: | --- | ---: | ---: |\n");
            foreach (var g in green)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {(string?)g?["model"]} | {Number(g?["batch"])} | {(string?)g?["mode"]} | {Number(g?["sm_count"])} | {Ms(Number(g?["median_ms"]))} |\n");
            }
        }
        foreach (var (stage, node) in new[] { ("bandwidth", results.Bandwidth), ("swap", results.Swap), ("share", results.Share), ("pairs", results.Pairs), ("green", results.Green) })
        {
            foreach (var (part, error) in node?["errors"]?.AsObject() ?? [])
            {
                text.Append(CultureInfo.InvariantCulture, $"\n- {stage} stage, part {part} failed: {Cell((string?)error)}");
            }
        }
        text.Append(CultureInfo.InvariantCulture, $"\n\nFiles: {string.Join(", ", Files)}.\n");
        return text.ToString();
    }

    /// <summary>A zoo model's name without the tiny suffix, so a dry run's rows meet the peer's names.</summary>
    public static string BaseName(string? model) => model is null ? "" : model.EndsWith("_tiny", StringComparison.Ordinal) ? model[..^5] : model;

    /// <summary>A result row of the engine's bench JSON or PyTorch's (whose rows carry a mode: eager or cuda_graph).</summary>
    private sealed record Row(string Model, int Batch, string Mode, double? Median, double? EndToEnd, double? Parity, string? Error);

    private static List<Row> Rows(JsonNode? report) => [.. (report?["results"]?.AsArray() ?? []).Select(r => new Row(
        (string?)r?["model"] ?? "",
        (int)(Number(r?["batch"]) ?? 0),
        (string?)r?["mode"] ?? "eager",
        Number(r?["median_ms"]),
        Number(r?["end_to_end_median_ms"]),
        Number(r?["max_relative_error_vs_ort"]),
        (string?)r?["error"] ?? (((string?)r?["status"]) is { } status && status != "ok" ? (string?)r?["error"] ?? (string?)r?["reason"] ?? status : null)))];

    private static double? Latency(List<Row> rows, string model, int batch, string mode = "eager") =>
        rows.FirstOrDefault(r => BaseName(r.Model) == model && r.Batch == batch && r.Mode == mode && r.Error is null && r.Median > 0)?.Median;

    private static double? Eager(List<Row> rows, string model, int batch) => Latency(rows, model, batch);

    private static double? Graph(List<Row> rows, string model, int batch) => Latency(rows, model, batch, "cuda_graph");

    private static double? Best(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    private static Goal Ratio(string name, double? engine, double? peer, double bound, bool inclusive, string what)
    {
        if (engine is not { } e || peer is not { } p)
        {
            return new Goal(name, Missing((what, engine), ("PyTorch", peer)), GoalStatus.NotMeasured);
        }
        var ratio = e / p;
        return new Goal(name, F($"{e:0.000} ms against {p:0.000} ms = {ratio:0.00}×"), (inclusive ? ratio <= bound : ratio < bound) ? GoalStatus.Met : GoalStatus.NotMet);
    }

    private static string Missing(params (string What, double? Value)[] figures) =>
        string.Join("; ", figures.Where(f => f.Value is null).Select(f => $"no {f.What} figure"));

    private static double? BestPinned(JsonNode? points) =>
        (points?.AsArray() ?? []).Where(p => (string?)p?["memory"] == "pinned").Select(p => Number(p?["best_gb_per_second"])).Max();

    // Read from the text: a value may be a parsed element or a CLR int, long or double, and NaN is written as a string.
    private static double? Number(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number &&
        double.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
            ? number
            : null;

    private static string Ms(double? value) => value is { } v ? F($"{v:0.000}") : "";

    private static string Gb(double? value) => value is { } v ? F($"{v:0.00}") : "";

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Cell(string? text) => (text ?? "").Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');

    private static void Json(string folder, string file, JsonNode node) => File.WriteAllText(Path.Combine(folder, file), node.ToJsonString(BenchmarkJson.Options));

    private static void Copy(string from, string to, string header)
    {
        if (File.Exists(from))
        {
            File.Copy(from, to, overwrite: true);
        }
        else
        {
            File.WriteAllText(to, header + "\n");
        }
    }
}
