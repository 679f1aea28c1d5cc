using System.CommandLine;
using OrleansServe.Cli.Acceptance;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>acceptance --out DIR</c>: the first GPU run's every measurement in one call (bench/gpu/acceptance.sh runs it on
/// the GPU machine), stage by stage with a deadline each, fail-soft, into the eight files of
/// <see cref="AcceptanceReport"/>. <c>--dry-run</c> runs the same stages on ILGPU's CPU accelerator with the tiny models.
/// </summary>
public static class AcceptanceCommand
{
    public static Command Create()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Run the stages on ilgpu-cpu with the tiny models (no GPU needed)" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for the eight files that come back", Required = true };
        var work = new Option<DirectoryInfo?>("--work") { Description = "Folder for the stages' own files and logs (default: a new temporary folder)" };
        var python = new Option<string>("--python") { Description = "Python interpreter of the PyTorch side", DefaultValueFactory = _ => "python3" };
        var repo = new Option<DirectoryInfo>("--repo") { Description = "The checkout (for bench/pytorch_bench.py and bench/gpu/pytorch_bandwidth.py)", DefaultValueFactory = _ => new DirectoryInfo(".") };
        var budget = new Option<double>("--budget") { Description = "Seconds for the whole run", DefaultValueFactory = _ => AcceptancePlan.BudgetSeconds };
        var only = new Option<string?>("--stages") { Description = "Run only these stages (comma-separated names), e.g. to rerun what failed" };
        var command = new Command("acceptance", "Measure everything the first GPU run needs, stage by stage, fail-soft, into summary.md and seven more files")
        {
            dryRun, output, work, python, repo, budget, only,
        };
        command.SetAction((parse, cancel) => RunAsync(
            parse.GetValue(dryRun), parse.GetRequiredValue(output), parse.GetValue(work), parse.GetRequiredValue(python), parse.GetRequiredValue(repo),
            parse.GetValue(budget), parse.GetValue(only)));
        return command;
    }

    private static async Task<int> RunAsync(bool dryRun, DirectoryInfo output, DirectoryInfo? work, string python, DirectoryInfo repo, double budget, string? only)
    {
        output.Create();
        var workFolder = work?.FullName ?? Path.Combine(Path.GetTempPath(), "orleansserve-acceptance-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(workFolder);
        var run = new AcceptanceSettings(dryRun, workFolder, python, repo.FullName, SelfCommand());
        var stages = AcceptancePlan.Stages(run);
        if (only is not null)
        {
            var names = OptionLists.Items(only);
            if (names.Except(stages.Select(s => s.Name)).FirstOrDefault() is { } unknown)
            {
                Console.Error.WriteLine($"error: no stage '{unknown}' (stages: {string.Join(", ", stages.Select(s => s.Name))})");
                return 2;
            }
            stages = [.. stages.Where(s => names.Contains(s.Name))];
        }
        var started = DateTimeOffset.UtcNow;
        await using var log = new StreamWriter(Path.Combine(output.FullName, "log.txt"), append: false);
        log.WriteLine($"acceptance {(dryRun ? "dry run on ilgpu-cpu" : "on cuda")}, {stages.Count} stages, budget {budget:0} s, work folder {workFolder}");
        var runner = new StageRunner(workFolder, log);
        var outcomes = await runner.RunAllAsync(stages, TimeSpan.FromSeconds(budget), done => AcceptanceReport.Write(output.FullName, run, done, started));
        AcceptanceReport.Write(output.FullName, run, outcomes, started);
        foreach (var goal in AcceptanceReport.Goals(AcceptanceResults.Read(workFolder)))
        {
            Console.WriteLine($"{goal.StatusText.Trim('*'),-13} {goal.Name}: {goal.Figure}");
        }
        Console.WriteLine($"{outcomes.Count(o => o.Status == StageStatus.Passed)} of {outcomes.Count} stages passed; files in {output.FullName}");
        return outcomes.All(o => o.Status is StageStatus.Passed or StageStatus.Skipped) ? 0 : 1;
    }

    /// <summary>How to start this program again: the apphost, or <c>dotnet</c> and this assembly.</summary>
    private static IReadOnlyList<string> SelfCommand()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, typeof(AcceptanceCommand).Assembly.Location] : [process];
    }
}
