using System.Globalization;
using System.Text.Json.Nodes;
using OrleansServe.Zoo;

namespace OrleansServe.Cli.Acceptance;

/// <summary>Where and how an acceptance run goes.</summary>
/// <param name="DryRun">The same stages on ILGPU's CPU accelerator with the tiny models (how the script is tested without a GPU).</param>
/// <param name="WorkFolder">Where the stages write their own files and logs (outside the folder that comes back).</param>
/// <param name="Python">The Python interpreter of the PyTorch side.</param>
/// <param name="RepoRoot">The checkout, for the PyTorch scripts under bench/.</param>
/// <param name="Self">This program and the arguments that start it (<c>dotnet OrleansServe.Cli.dll</c>).</param>
public sealed record AcceptanceSettings(bool DryRun, string WorkFolder, string Python, string RepoRoot, IReadOnlyList<string> Self)
{
    /// <summary>The engine device of the run.</summary>
    public string Device => DryRun ? "ilgpu-cpu" : "cuda";

    /// <summary>A file in the work folder.</summary>
    public string Work(string file) => Path.Combine(WorkFolder, file);
}

/// <summary>
/// The stages of <c>bench/gpu/acceptance.sh</c>, in order, each with its deadline: the whole run fits 8 minutes of an
/// H200 (the device allows 10 per call and 15 per task, start and transfers included). Each stage is a process, so a
/// native fault or a hang costs only that stage. Each measuring command also gets a time budget a little under its
/// deadline, so it stops on its own and keeps what it measured.
/// </summary>
public static class AcceptancePlan
{
    /// <summary>The run's whole budget in seconds (the sum of the deadlines below stays within it).</summary>
    public const double BudgetSeconds = 455;

    /// <summary>gpulet's nine models, whose latency by SM share is the scheduler's profile table.</summary>
    public static readonly string[] SchedulerModels =
        ["lenet5", "googlenet", "resnet50", "ssd_mobilenet_v1", "vgg16", "mnasnet1_0", "mobilenet_v2", "densenet161", "bert_base"];

    /// <summary>The models timed beside PyTorch, and swapped in.</summary>
    public static readonly string[] LatencyModels = ["resnet50", "bert_base", "mobilenet_v2", "vgg16"];

    /// <summary>The co-located pairs, each measured both ways.</summary>
    public static readonly string[] Pairs = ["resnet50:bert_base", "resnet50:vgg16", "mobilenet_v2:bert_base", "vgg16:mobilenet_v2"];

    /// <summary>
    /// The SM shares of the profile table, in the order they are measured: spread first, so a stage cut short by its
    /// deadline still has the curve's ends and middle.
    /// </summary>
    public const string Shares = "100,20,50,80,40,60";

    /// <summary>The batches of the profile table.</summary>

    public const string ShareBatches = "1,2,4,8,16,32";

    /// <summary>The stages of a run.</summary>
    public static IReadOnlyList<StageSpec> Stages(AcceptanceSettings run)
    {
        string Model(string name) => run.DryRun ? name + "_tiny" : name;
        string Models(IEnumerable<string> names) => string.Join(',', names.Select(Model));
        string PairList() => string.Join(',', Pairs.Select(p => string.Join(':', p.Split(':').Select(Model))));
        var tiny = string.Join(',', ModelZoo.TinyNames);
        var full = run.DryRun ? tiny : string.Join(',', ModelZoo.FullSizeNames);
        var iterations = run.DryRun ? "5" : "30";
        var repeats = run.DryRun ? "2" : "5";
        // A reservation that fits every swap stage's models, short of the 90% default, so the first run does not rest on it.
        var reserved = run.DryRun ? "0" : (16L << 30).ToString(CultureInfo.InvariantCulture);

        StageSpec Cli(string name, string title, double deadline, params string[] arguments) =>
            new(name, title, TimeSpan.FromSeconds(deadline), run.Self[0], [.. run.Self.Skip(1), .. arguments, "--time-budget", Soft(deadline)]);
        StageSpec Python(string name, string title, double deadline, string script, params string[] arguments) =>
            new(name, title, TimeSpan.FromSeconds(deadline), run.Python, [Path.Combine(run.RepoRoot, script), .. arguments]);

        return
        [
            new("env", "the machine: nvidia-smi, driver, Python's CUDA wheels", TimeSpan.FromSeconds(15), "sh", ["-c", EnvironmentScript(run.Python)]),
            new("smoke", "gpu-info --smoke: each native path once", TimeSpan.FromSeconds(30), run.Self[0],
                [.. run.Self.Skip(1), "gpu-info", "--smoke", "--device", run.Device, "--json", run.Work("smoke.json")]),
            Cli("parity-tiny", "parity against ONNX Runtime CPU: every tiny zoo model at batch 1 and 3", 35,
                "bench", "--device", run.Device, "--models", tiny, "--batches", "1,3", "--parity", "--iterations", "3", "--warmup", "1", "--json", run.Work("parity-tiny.json")),
            Cli("parity-full", $"parity against ONNX Runtime CPU: every {(run.DryRun ? "tiny (dry run)" : "full-size")} zoo model at batch 1", 50,
                "bench", "--device", run.Device, "--models", full, "--batches", "1", "--parity", "--iterations", "3", "--warmup", "1", "--json", run.Work("parity-full.json")),
            Cli("latency", "warm latency by kernel launches at batch 1 and 8", 40,
                "bench", "--device", run.Device, "--models", Models(LatencyModels), "--batches", "1,8", "--iterations", iterations, "--warmup", "5", "--json", run.Work("latency.json")),
            Cli("latency-graphs", "warm latency replayed from CUDA graphs at batch 1", 20,
                "bench", "--device", run.Device, "--models", Models(LatencyModels), "--batches", "1", "--iterations", iterations, "--warmup", "3", "--cuda-graphs", "--json", run.Work("latency-graphs.json")),
            Python("pytorch-latency", "PyTorch eager (and CUDA graphs at batch 1) on the same models", 50, "bench/pytorch_bench.py",
                ["--models", string.Join(',', LatencyModels), "--batches", "1,8", "--iters", iterations, "--warmup", "10", "--time-budget", Soft(50),
                 "--json", run.Work("pytorch-latency.json"), .. run.DryRun ? new[] { "--device", "cpu" } : ["--cuda-graphs"]]),
            Cli("bandwidth", "host-to-device bandwidth by transfer size, pageable and pinned", 15,
                "swap-bench", "--device", run.Device, "--measure", "bandwidth", "--repeats", "10", "--json", run.Work("bandwidth.json")),
            Python("pytorch-bandwidth", "PyTorch's pinned tensor.to('cuda', non_blocking=True) by transfer size", 15, "bench/gpu/pytorch_bandwidth.py",
                "--repeats", "10", "--json", run.Work("pytorch-bandwidth.json")),
            Cli("swap", "swap-in against bytes / bandwidth; cold start pipelined, transfer-then-run and warm at batch 1", 40,
                "swap-bench", "--device", run.Device, "--measure", "swapin,coldstart", "--models", Models(LatencyModels), "--cold-batch", "1",
                "--repeats", repeats, "--reserved-bytes", reserved, "--json", run.Work("swap.json")),
            Cli("share", "latency by SM share and batch of the nine scheduler models (the profile table)", 80,
                "swap-bench", "--device", run.Device, "--measure", "share", "--models", Models(SchedulerModels), "--partitions", Shares, "--batches", ShareBatches,
                "--repeats", repeats, "--reserved-bytes", reserved, "--csv-dir", run.WorkFolder, "--json", run.Work("share.json")),
            Cli("pairs", "slowdown of pairs on complementary gpulets, 50:50 and 20:80", 35,
                "swap-bench", "--device", run.Device, "--measure", "pairs", "--models", Models(LatencyModels), "--pairs", PairList(), "--pair-splits", "50:50,20:80",
                "--pair-batch", "8", "--repeats", repeats, "--reserved-bytes", reserved, "--csv-dir", run.WorkFolder, "--json", run.Work("pairs.json")),
            Cli("green", "one model at 50% through a green context against grid capping", 30,
                "swap-bench", "--device", run.Device, "--measure", "green", "--models", Model("resnet50"), "--green-share", "50", "--green-batches", "1,8",
                "--repeats", run.DryRun ? "3" : "20", "--json", run.Work("green.json")) with { SkipWhen = () => NoGreenContexts(run.Work("smoke.json")) },
        ];
    }

    /// <summary>The time budget a stage is told: its deadline less room to start and to write its files.</summary>
    public static string Soft(double deadline) => Math.Max(3, Math.Floor(deadline * 0.85) - 3).ToString(CultureInfo.InvariantCulture);

    /// <summary>Why the green stage is skipped (null: the smoke run found green contexts).</summary>
    public static string? NoGreenContexts(string smokeJson)
    {
        try
        {
            var checks = JsonNode.Parse(File.ReadAllText(smokeJson))?["smoke"]?["checks"]?.AsArray();
            var green = checks?.FirstOrDefault(c => (string?)c?["name"] == "green-contexts");
            return green is null
                ? "the smoke run did not report on green contexts"
                : (string?)green["outcome"] == "passed" ? null : $"the smoke run found no green contexts ({(string?)green["detail"]})";
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException or InvalidOperationException)
        {
            return $"the smoke run left no report ({e.Message})";
        }
    }

    private static string EnvironmentScript(string python) => $$"""
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "host: $(hostname)"; uname -srm
        if command -v nvidia-smi >/dev/null 2>&1; then
          nvidia-smi
          nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit,pcie.link.gen.max,pcie.link.width.max --format=csv
        else
          echo "nvidia-smi: not on this machine"
        fi
        echo "locked-memory limit (ulimit -l): $(ulimit -l)"
        {{python}} -c "import sys; print('python', sys.version.split()[0], sys.executable)" 2>&1
        {{python}} -c "import nvidia; print('nvidia wheels:', list(nvidia.__path__))" 2>&1 | tail -n 1
        for d in $({{python}} -c "import nvidia; print(' '.join(nvidia.__path__))" 2>/dev/null); do ls "$d"/cu13/lib 2>/dev/null | grep -i -E 'cublas|cudart' | sed "s|^|$d/cu13/lib/|"; done
        {{python}} -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version())" 2>&1 | tail -n 1
        """;
}
