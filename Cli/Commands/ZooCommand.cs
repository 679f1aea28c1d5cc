using System.CommandLine;
using OrleansServe.Engine.Onnx;
using OrleansServe.Engine.Zoo;
using Spectre.Console;

namespace OrleansServe.Cli.Commands;

/// <summary><c>zoo --out DIR [--models a,b]</c>: writes the generated sample models as a model repository.</summary>
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
            Description = $"Comma-separated models to write (default: all of {string.Join(", ", SampleZoo.ModelNames)})",
        };
        var command = new Command("zoo", "Write the sample model repository; existing model folders are kept") { output, models };
        command.SetAction(parseResult => Run(parseResult.GetRequiredValue(output), parseResult.GetValue(models)));
        return command;
    }

    private static int Run(DirectoryInfo directory, string? modelList)
    {
        var requested = modelList?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [.. SampleZoo.ModelNames];
        var unknown = requested.Except(SampleZoo.ModelNames).ToList();
        if (unknown.Count > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]Unknown model(s): {string.Join(", ", unknown)}.[/] Known: {string.Join(", ", SampleZoo.ModelNames)}");
            return 1;
        }

        var written = SampleZoo.WriteRepository(directory.FullName, requested);
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
            var bytes = File.ReadAllBytes(path);
            table.AddRow(
                Markup.Escape(name),
                OnnxModelReader.CountParameters(bytes).ToString("N0"),
                bytes.Length.ToString("N0"),
                Markup.Escape(path));
        }
        AnsiConsole.Write(table);
        return 0;
    }
}
