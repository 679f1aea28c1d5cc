using System.CommandLine;
using OrleansServe.Cli.Inference;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Onnx;
using Spectre.Console;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>run MODEL.onnx --device cuda|ilgpu-cpu|ort-cpu --input IN.json --output OUT.json</c>: one inference, with
/// KServe v2 JSON request and response bodies, so a result can be compared with any other runtime.
/// </summary>
public static class RunCommand
{
    public static Command Create()
    {
        var model = new Argument<string>("model") { Description = "An .onnx file, or a zoo model name" };
        var device = new Option<string>("--device") { Description = "cuda, ilgpu-cpu or ort-cpu", DefaultValueFactory = _ => "ort-cpu" };
        device.AcceptOnlyFromAmong("cuda", "ilgpu-cpu", "ort-cpu");
        var input = new Option<FileInfo>("--input") { Description = "KServe v2 JSON infer request body", Required = true };
        var output = new Option<FileInfo?>("--output") { Description = "Where to write the KServe v2 JSON infer response (default: standard output)" };
        var command = new Command("run", "Run one inference on a device, KServe v2 JSON in and out") { model, device, input, output };
        command.SetAction(parse => Run(parse.GetRequiredValue(model), parse.GetRequiredValue(device), parse.GetRequiredValue(input), parse.GetValue(output)));
        return command;
    }

    private static int Run(string modelArgument, string deviceName, FileInfo input, FileInfo? output)
    {
        try
        {
            if (!input.Exists)
            {
                throw new ArgumentException($"input file '{input.FullName}' does not exist");
            }
            var (bytes, name) = ModelSource.Read(modelArgument);
            var (tensors, request) = KServeTensors.ReadRequest(File.ReadAllBytes(input.FullName));
            using var runner = ModelRunners.Load(ModelRunners.Parse(deviceName), bytes);
            var outputs = runner.Run(tensors);
            var response = KServeTensors.WriteResponse(name, outputs, request);
            if (output is null)
            {
                Console.OpenStandardOutput().Write(response);
                Console.WriteLine();
            }
            else
            {
                File.WriteAllBytes(output.FullName, response);
                Console.Error.WriteLine($"{runner.Description}: wrote {outputs.Length} output(s) to {output.FullName}");
            }
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or KServe.KServeProtocolException or ModelPlanException or NotSupportedException or IOException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
    }
}
