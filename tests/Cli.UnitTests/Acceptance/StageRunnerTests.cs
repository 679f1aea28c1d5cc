namespace OrleansServe.Cli.UnitTests.Acceptance;

public sealed class StageRunnerTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("orleansserve-stages-").FullName;
    private readonly StringWriter log = new();

    private static StageSpec Shell(string name, string script, double deadlineSeconds = 60) =>
        new(name, $"runs {name}", TimeSpan.FromSeconds(deadlineSeconds), "sh", ["-c", script]);

    /// <summary>A guard against a hang, never a timing assertion.</summary>
    private static readonly TimeSpan Guard = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_stage_past_its_deadline_is_killed_with_its_children_and_the_next_stage_still_runs()
    {
        var runner = new StageRunner(work, log);
        var pidFile = Path.Combine(work, "child.pid");

        // The child keeps the stage's output open: were it left alive, reading the output to its end would hang.
        var outcomes = await runner.RunAllAsync(
            [Shell("hang", $"sleep 30 & echo $! > {pidFile}; wait", deadlineSeconds: 1), Shell("next", "echo ran")],
            TimeSpan.FromMinutes(5)).WaitAsync(Guard);

        Assert.Equal([StageStatus.TimedOut, StageStatus.Passed], outcomes.Select(o => o.Status));
        Assert.Contains("killed after its deadline of 1 s", outcomes[0].Detail);
        Assert.Equal("ran\n", File.ReadAllText(Path.Combine(work, "next.log")));
        var stat = $"/proc/{File.ReadAllText(pidFile).Trim()}/stat";
        Assert.True(!File.Exists(stat) || File.ReadAllText(stat).Split(' ')[2] == "Z", "the stage's child is still running");
    }

    [Fact]
    public async Task A_failing_stage_is_recorded_with_its_status_and_last_error_line_and_the_run_goes_on()
    {
        var runner = new StageRunner(work, log);

        var outcomes = await runner.RunAllAsync(
            [Shell("crash", "echo measuring; echo 'Segmentation fault' >&2; exit 139"), Shell("after", "true")],
            TimeSpan.FromMinutes(5));

        Assert.Equal((StageStatus.Failed, 139), (outcomes[0].Status, outcomes[0].ExitCode));
        Assert.Equal("exit status 139: Segmentation fault", outcomes[0].Detail);
        Assert.Equal(StageStatus.Passed, outcomes[1].Status);
        Assert.Contains("[crash] measuring", log.ToString());
        Assert.Contains("=== crash: failed", log.ToString());
    }

    [Fact]
    public async Task A_program_that_does_not_exist_fails_its_stage_only()
    {
        var runner = new StageRunner(work, log);

        var outcomes = await runner.RunAllAsync(
            [new StageSpec("missing", "no such program", TimeSpan.FromSeconds(10), "/nonexistent/program", []), Shell("after", "true")],
            TimeSpan.FromMinutes(5));

        Assert.Equal([StageStatus.Failed, StageStatus.Passed], outcomes.Select(o => o.Status));
        Assert.StartsWith("could not start /nonexistent/program", outcomes[0].Detail);
    }

    [Fact]
    public async Task A_stage_skips_itself_when_its_condition_says_why_and_a_spent_budget_skips_the_rest()
    {
        var runner = new StageRunner(work, log);
        var skipped = Shell("green", "true") with { SkipWhen = () => "no green contexts" };

        var conditional = await runner.RunAsync(skipped, TimeSpan.FromMinutes(1));
        var outOfTime = await runner.RunAsync(Shell("late", "true"), TimeSpan.FromMilliseconds(200));

        Assert.Equal((StageStatus.Skipped, "no green contexts"), (conditional.Status, conditional.Detail));
        Assert.Equal((StageStatus.Skipped, "the run's time budget was spent"), (outOfTime.Status, outOfTime.Detail));
        Assert.False(File.Exists(Path.Combine(work, "green.log")));
    }

    [Fact]
    public async Task A_stage_gets_the_shorter_of_its_deadline_and_what_is_left_of_the_budget()
    {
        var runner = new StageRunner(work, log);

        var outcome = await runner.RunAsync(Shell("quick", "true", deadlineSeconds: 60), TimeSpan.FromSeconds(20));

        Assert.Equal(20, outcome.DeadlineSeconds);
    }

    public void Dispose()
    {
        log.Dispose();
        Directory.Delete(work, recursive: true);
    }
}
