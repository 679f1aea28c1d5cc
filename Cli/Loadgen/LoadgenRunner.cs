using Spectre.Console;

namespace OrleansServe.Cli.Loadgen;

/// <summary>Runs the server (and optionally direct) load of one invocation, showing progress, and reports.</summary>
public static class LoadgenRunner
{
    /// <summary>0 when some request succeeded; 1 when metadata failed or every request errored.</summary>
    public static async Task<int> RunAsync(LoadgenSettings settings, CancellationToken cancellationToken)
    {
        var maxConnections = settings.RateRps is null ? settings.Concurrency.Max() : settings.MaxOutstanding;
        using var http = new HttpLoad(settings.Url, settings.Model, maxConnections);
        IReadOnlyList<InputTensor> inputs;
        InferRequestBody body;
        DirectLoad? direct = null;
        try
        {
            direct = settings.DirectModel is null ? null : new DirectLoad(settings.DirectModel.FullName, settings.IntraOpThreads);
            var metadata = await http.GetMetadataAsync(cancellationToken);
            inputs = InputShapes.Resolve(metadata.Inputs, settings.Batch);
            var data = SeededInputs.Create(inputs, settings.Seed);
            body = settings.Binary
                ? InferRequestBody.ForBinary(inputs, data, metadata.Outputs.Select(o => o.Name))
                : InferRequestBody.ForJson(inputs, data);
            AnsiConsole.MarkupLineInterpolated(
                $"[bold]{metadata.Name}[/] ({metadata.Platform}): {string.Join(", ", inputs.Select(i => $"{i.Name} {InputShapes.Format(i.Shape)}"))}; {(settings.Binary ? "binary" : "JSON")} body of {body.Bytes.Length:N0} bytes");
        }
        catch (LoadgenException e)
        {
            direct?.Dispose();
            AnsiConsole.MarkupLineInterpolated($"[red]{e.Message}[/]");
            return 1;
        }
        using var directLoad = direct;

        var runs = new List<RunResult>();
        // An open-loop run is one run, reported under its outstanding bound.
        IReadOnlyList<int> plan = settings.RateRps is null ? settings.Concurrency : [settings.MaxOutstanding];
        foreach (var concurrency in plan)
        {
            var window = new RunWindow(settings.Warmup, settings.Duration, settings.MaxRequests);
            var label = settings.RateRps is double r ? $"server {r:0.##} req/s" : $"server c={concurrency}";
            var work = settings.RateRps is double rps
                ? http.RunOpenLoopAsync(body, rps, settings.MaxOutstanding, settings.Seed, window, cancellationToken)
                : http.RunClosedLoopAsync(body, concurrency, window, cancellationToken);
            var workers = await ShowProgressAsync(label, window, work);
            runs.Add(RunResult.From("server", concurrency, settings.RateRps, settings.Batch, window, workers));
        }

        if (directLoad is not null)
        {
            try
            {
                var directInputs = InputShapes.Resolve(directLoad.Inputs, settings.Batch);
                if (!directInputs.Select(i => (i.Name, InputShapes.Format(i.Shape))).SequenceEqual(inputs.Select(i => (i.Name, InputShapes.Format(i.Shape)))))
                {
                    AnsiConsole.MarkupLine("[yellow]The --direct model's inputs differ from the server's; comparing anyway.[/]");
                }
                var data = SeededInputs.Create(directInputs, settings.Seed);
                foreach (var concurrency in settings.Concurrency)
                {
                    var window = new RunWindow(settings.Warmup, settings.Duration, settings.MaxRequests);
                    var workers = await ShowProgressAsync($"direct c={concurrency}", window, directLoad.RunAsync(directInputs, data, concurrency, window, cancellationToken));
                    runs.Add(RunResult.From("direct", concurrency, null, settings.Batch, window, workers));
                }
            }
            catch (LoadgenException e)
            {
                AnsiConsole.MarkupLineInterpolated($"[red]--direct: {e.Message}[/]");
            }
        }

        if (Console.IsOutputRedirected)
        {
            // Spectre assumes 80 columns without a terminal, which would wrap every figure of the table.
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
        }
        var report = new LoadReport(MachineInfo.Current(), DateTimeOffset.UtcNow, settings.Url.ToString(), settings.Model, settings.Batch, runs);
        AnsiConsole.Write(report.ToTable());
        foreach (var run in runs.Where(r => r.FirstError is not null))
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]{run.Mode} c={run.Concurrency}[/] errors {string.Join(", ", run.ErrorsByKind.Select(p => $"{p.Key}={p.Value}"))}; first: {run.FirstError}");
        }
        if (settings.JsonPath is { } path)
        {
            path.Directory?.Create();
            await File.WriteAllTextAsync(path.FullName, report.ToJson() + "\n", CancellationToken.None);
            AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{path.FullName}[/]");
        }

        var server = runs.Where(r => r.Mode == "server").ToList();
        if (server.Sum(r => r.Requests) > 0 && server.All(r => r.Requests == r.Errors))
        {
            AnsiConsole.MarkupLine("[red]Every request to the server failed.[/]");
            return 1;
        }
        return 0;
    }

    private static async Task<IReadOnlyList<WorkerTally>> ShowProgressAsync(string label, RunWindow window, Task<IReadOnlyList<WorkerTally>> work)
    {
        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(label, maxValue: 1);
                while (!work.IsCompleted)
                {
                    var now = System.Diagnostics.Stopwatch.GetTimestamp();
                    task.Value = window.Progress(now);
                    task.Description = $"{label}: {window.Started:N0} sent{(now < window.WarmupEnd ? " (warmup)" : "")}";
                    await Task.WhenAny(work, Task.Delay(100));
                }
                task.Value = 1;
                task.Description = $"{label}: {window.Started:N0} sent";
            });
        return await work;
    }
}
