using System.Diagnostics;
using System.Globalization;

namespace OrleansServe.Cli.Acceptance;

/// <summary>One stage of a run: a process with a deadline of its own.</summary>
/// <param name="Name">Short name, also the name of its log file in the work folder ("parity-tiny").</param>
/// <param name="Title">What it measures, in words.</param>
/// <param name="Deadline">How long it may run before it is killed (its whole process tree).</param>
/// <param name="FileName">The program.</param>
/// <param name="Arguments">Its arguments, each passed as one.</param>
public sealed record StageSpec(string Name, string Title, TimeSpan Deadline, string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>Decided when the stage's turn comes: why it does not run (it is then skipped), or null to run it.</summary>
    public Func<string?>? SkipWhen { get; init; }

    /// <summary>The command line as a shell would show it, for the log.</summary>
    public string CommandLine => string.Join(' ', new[] { FileName }.Concat(Arguments).Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a));
}

/// <summary>How a stage ended.</summary>
public enum StageStatus
{
    /// <summary>It exited with status 0.</summary>
    Passed,

    /// <summary>It exited with another status, or could not start.</summary>
    Failed,

    /// <summary>It ran past its deadline and was killed.</summary>
    TimedOut,

    /// <summary>It did not run (its condition said so, or the run's budget was spent).</summary>
    Skipped,
}

/// <summary>What became of one stage.</summary>
/// <param name="Detail">Why it failed or was skipped (the last line it printed to standard error when it failed), or empty.</param>
public sealed record StageOutcome(string Name, string Title, StageStatus Status, int? ExitCode, double Seconds, double DeadlineSeconds, string Detail);

/// <summary>
/// Runs stages one after another, each as a process of its own with its own deadline, fail-soft: a stage that fails,
/// hangs or crashes (a native fault takes only its process) is recorded with why and the next stage runs. Every line
/// a stage prints goes to the run's log, prefixed with its name, and to its own log file in the work folder.
/// </summary>
/// <param name="workFolder">Where each stage's log file is written (<c>name.log</c>).</param>
/// <param name="log">The run's log.</param>
public sealed class StageRunner(string workFolder, TextWriter log)
{
    private readonly Lock gate = new();

    /// <summary>Runs <paramref name="stages"/> in order within <paramref name="budget"/>; <paramref name="finished"/> sees each outcome as it comes.</summary>
    public async Task<IReadOnlyList<StageOutcome>> RunAllAsync(IEnumerable<StageSpec> stages, TimeSpan budget, Action<IReadOnlyList<StageOutcome>>? finished = null)
    {
        var clock = Stopwatch.StartNew();
        var outcomes = new List<StageOutcome>();
        foreach (var stage in stages)
        {
            outcomes.Add(await RunAsync(stage, budget - clock.Elapsed));
            finished?.Invoke(outcomes);
        }
        return outcomes;
    }

    /// <summary>Runs one stage, giving it its deadline or <paramref name="budgetLeft"/>, whichever is shorter.</summary>
    public async Task<StageOutcome> RunAsync(StageSpec stage, TimeSpan budgetLeft)
    {
        var deadline = stage.Deadline < budgetLeft ? stage.Deadline : budgetLeft;
        if (stage.SkipWhen?.Invoke() is { } reason)
        {
            return Record(stage, StageStatus.Skipped, null, 0, deadline, reason);
        }
        if (deadline < TimeSpan.FromSeconds(1))
        {
            return Record(stage, StageStatus.Skipped, null, 0, deadline, "the run's time budget was spent");
        }
        Write($"=== {stage.Name}: {stage.Title} (deadline {deadline.TotalSeconds:0} s)\n$ {stage.CommandLine}");
        using var own = new StreamWriter(Path.Combine(workFolder, stage.Name + ".log"), append: false) { AutoFlush = true };
        var lastError = "";
        var lastOutput = "";
        var start = new ProcessStartInfo(stage.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in stage.Arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Line(e.Data, error: false);
        process.ErrorDataReceived += (_, e) => Line(e.Data, error: true);
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return Record(stage, StageStatus.Failed, null, clock.Elapsed.TotalSeconds, deadline, $"could not start {stage.FileName}: {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(deadline);
        var timedOut = false;
        try
        {
            // Completes once the process has exited and its output has been read to the end.
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            timedOut = true;
            Kill(process);
        }
        if (timedOut || !process.HasExited)
        {
            // A process stuck in the driver, or a child that left the tree and kept the output open, must not hold up
            // the run: give the drain a few seconds, then go on without it.
            using var drain = new CancellationTokenSource(DrainWait);
            try
            {
                await process.WaitForExitAsync(drain.Token);
            }
            catch (OperationCanceledException)
            {
                Write($"=== {stage.Name}: its output did not close within {DrainWait.TotalSeconds:0} s of the kill; going on");
            }
        }
        var seconds = clock.Elapsed.TotalSeconds;
        if (timedOut)
        {
            return Record(stage, StageStatus.TimedOut, null, seconds, deadline, $"killed after its deadline of {deadline.TotalSeconds:0} s");
        }
        return process.ExitCode == 0
            ? Record(stage, StageStatus.Passed, 0, seconds, deadline, "")
            : Record(stage, StageStatus.Failed, process.ExitCode, seconds, deadline,
                $"exit status {process.ExitCode}{(lastError.Length > 0 ? $": {lastError}" : lastOutput.Length > 0 ? $": {lastOutput}" : "")}");

        void Line(string? text, bool error)
        {
            if (text is null)
            {
                return;
            }
            lock (gate)
            {
                own.WriteLine(text);
                if (text.Trim().Length > 0)
                {
                    if (error)
                    {
                        lastError = text.Trim();
                    }
                    else
                    {
                        lastOutput = text.Trim();
                    }
                }
            }
            Write($"[{stage.Name}] {text}");
        }
    }

    /// <summary>How long the output of a killed stage may take to close.</summary>
    public static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(10);

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // It exited between the deadline and the kill.
        }
    }

    private StageOutcome Record(StageSpec stage, StageStatus status, int? exitCode, double seconds, TimeSpan deadline, string detail)
    {
        var outcome = new StageOutcome(stage.Name, stage.Title, status, exitCode, seconds, deadline.TotalSeconds, detail);
        Write(string.Create(CultureInfo.InvariantCulture, $"=== {stage.Name}: {status.ToString().ToLowerInvariant()} after {seconds:0.0} s{(detail.Length > 0 ? $": {detail}" : "")}"));
        return outcome;
    }

    private void Write(string text)
    {
        lock (gate)
        {
            log.WriteLine(text);
            log.Flush();
        }
    }
}
