using System.CommandLine;
using System.Text.Json;
using OrleansServe.Cli.Inference;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Onnx;
using Spectre.Console;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>check MODEL.onnx [--batch N] [--layers]</c>: whether the engine can run a model. Lists every unsupported
/// operator at once; otherwise parameters, FLOPs, weight and activation bytes, per operator type or per layer.
/// </summary>
public static class CheckCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "An .onnx file, or a zoo model name" };
        var batch = new Option<int>("--batch") { Description = "Batch size for dynamic first dimensions", DefaultValueFactory = _ => 1 };
        var layers = new Option<bool>("--layers") { Description = "List every layer, not only totals per operator type" };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the layer list as JSON to this file" };
        var command = new Command("check", "Check that the engine supports a model and show its layers, FLOPs and bytes") { model, batch, layers, json };
        command.SetAction(parse => Run(parse.GetRequiredValue(model), parse.GetValue(batch), parse.GetValue(layers), parse.GetValue(json)));
        return command;
    }

    private static int Run(string modelArgument, int batch, bool listLayers, FileInfo? jsonFile)
    {
        OnnxGraph graph;
        try
        {
            graph = OnnxGraph.Read(ModelSource.Read(modelArgument).Bytes);
        }
        catch (Exception e) when (e is ArgumentException or ModelPlanException or IOException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }

        var unsupported = GraphPlanner.FindUnsupported(graph);
        AnsiConsole.MarkupLineInterpolated($"[bold]{graph.Name}[/]: {graph.Nodes.Count} nodes, opset {graph.Opset}, {graph.ParameterCount:N0} parameters");
        if (unsupported.Count > 0)
        {
            var table = new Table().AddColumns("node", "operator");
            foreach (var node in unsupported)
            {
                table.AddRow(Markup.Escape(node.Node), Markup.Escape(node.Domain.Length > 0 ? $"{node.Domain}.{node.OpType}" : node.OpType));
            }
            AnsiConsole.MarkupLineInterpolated($"[red]{unsupported.Count} node(s) use operators the engine does not implement[/] ({string.Join(", ", unsupported.Select(n => n.OpType).Distinct())}):");
            AnsiConsole.Write(table);
            return 1;
        }

        ModelPlan plan;
        try
        {
            plan = GraphPlanner.PlanForBatch(GraphRewrites.Optimize(graph), batch);
        }
        catch (ModelPlanException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]cannot plan the model:[/] {e.Message}");
            return 1;
        }

        if (listLayers)
        {
            var table = new Table().AddColumns("#", "layer", "op", "output", "weights", "activations", "MFLOPs");
            foreach (var column in table.Columns.Skip(4))
            {
                column.RightAligned();
            }
            var index = 0;
            foreach (var layer in plan.Layers)
            {
                table.AddRow(
                    (index++).ToString(),
                    Markup.Escape(layer.Name),
                    layer.OpType,
                    string.Join(" ", layer.OutputShapes.Select(ShapeMath.Format)),
                    Bytes(layer.WeightBytes),
                    Bytes(layer.ActivationBytes),
                    (layer.Flops / 1e6).ToString("N1"));
            }
            AnsiConsole.Write(table);
        }
        else
        {
            var table = new Table().AddColumns("op", "layers", "weights", "activations", "GFLOPs", "share");
            foreach (var column in table.Columns.Skip(1))
            {
                column.RightAligned();
            }
            foreach (var group in plan.Layers.GroupBy(l => l.OpType).OrderByDescending(g => g.Sum(l => l.Flops)))
            {
                table.AddRow(group.Key, group.Count().ToString(), Bytes(group.Sum(l => l.WeightBytes)), Bytes(group.Sum(l => l.ActivationBytes)),
                    (group.Sum(l => l.Flops) / 1e9).ToString("N3"), $"{100.0 * group.Sum(l => l.Flops) / Math.Max(1, plan.Flops):N1}%");
            }
            AnsiConsole.Write(table);
        }
        AnsiConsole.MarkupLineInterpolated($"batch {batch}: {plan.Layers.Count} layers, {plan.Flops / 1e9:N3} GFLOPs, weights {Bytes(plan.Layers.Sum(l => l.WeightBytes))}, workspace {Bytes(plan.WorkspaceBytes)} (without reuse {Bytes(plan.UnplannedActivationBytes)})");
        foreach (var input in plan.Inputs)
        {
            AnsiConsole.MarkupLineInterpolated($"  input  {input.Name} {input.ElementType.ToString().ToUpperInvariant()} {ShapeMath.Format(input.Shape)}");
        }
        foreach (var output in plan.Outputs)
        {
            AnsiConsole.MarkupLineInterpolated($"  output {output.Name} {output.ElementType.ToString().ToUpperInvariant()} {ShapeMath.Format(output.Shape)}");
        }
        AnsiConsole.MarkupLine("[green]supported[/]: every operator is implemented");
        if (jsonFile is not null)
        {
            File.WriteAllText(jsonFile.FullName, JsonSerializer.Serialize(new
            {
                model = graph.Name,
                batch,
                parameters = graph.ParameterCount,
                flops = plan.Flops,
                workspace_bytes = plan.WorkspaceBytes,
                layers = plan.Layers,
            }, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true }));
        }
        return 0;
    }

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):N2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):N1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:N1} KiB",
        _ => $"{bytes} B",
    };
}
