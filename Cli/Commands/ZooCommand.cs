using System.CommandLine;
using OrleansServe.Zoo;
using Spectre.Console;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>zoo --out DIR [--models a,b]</c>: writes generated models as a model repository; by default the sample set
/// the server writes at first start, otherwise any model of <see cref="ModelZoo"/> (evaluation, tiny or sample).
/// </summary>
public static class ZooCommand
{
    public static Command Create()
    {
        var output = new Option<DirectoryInfo>("--out")
        {
            Description = "Repository directory to write (<dir>/<model>/config.json and <dir>/<model>/1/model.onnx)",
            Required = true,
        };
        var models = new Option<string?>("--models")
        {
            Description = $"Comma-separated models to write (default: the samples {string.Join(", ", SampleZoo.ModelNames)}). "
                + $"Any of: {string.Join(", ", ModelZoo.Names)}. Named models carry the papers' SLOs.",
        };
        var command = new Command("zoo", "Write a generated model repository; existing model folders are kept") { output, models };
        command.SetAction(parseResult => Run(parseResult.GetRequiredValue(output), parseResult.GetValue(models)));
        return command;
    }

    private static int Run(DirectoryInfo directory, string? modelList)
    {
        var requested = modelList?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [.. SampleZoo.ModelNames];
        var unknown = requested.Except(ModelZoo.Names).ToList();
        if (unknown.Count > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]Unknown model(s): {string.Join(", ", unknown)}.[/] Known: {string.Join(", ", ModelZoo.Names)}");
            return 1;
        }

        // The default is exactly what the server writes into an empty repository, configs included.
        var written = modelList is null
            ? SampleZoo.WriteRepository(directory.FullName)
            : ModelZoo.WriteRepository(directory.FullName, requested);
        foreach (var skipped in requested.Except(written))
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]{skipped}[/]: folder already exists, left unchanged");
        }
        if (written.Count == 0)
        {
            return 0;
        }

        var table = new Table().AddColumns("model", "params", "file bytes", "path");
        table.Columns[1].RightAligned();
        table.Columns[2].RightAligned();
        foreach (var name in written)
        {
            var path = Path.Combine(directory.FullName, name, "1", "model.onnx");
            // Counted from the architecture (the same initializer elements the file holds) rather than by reading back hundreds of megabytes.
            table.AddRow(
                Markup.Escape(name),
                ModelZoo.Describe(name).InitializerElements.ToString("N0"),
                new FileInfo(path).Length.ToString("N0"),
                Markup.Escape(path));
        }
        AnsiConsole.Write(table);
        return 0;
    }
}
