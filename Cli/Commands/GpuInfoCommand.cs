using System.CommandLine;
using System.Text.Json;
using OrleansServe.Engine.Gpu;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>gpu-info</c>: what GPU support this machine has (driver, CUDA devices, cuBLAS); never fails for missing hardware.
/// <c>gpu-info --smoke</c> also exercises each native path once (<see cref="GpuSmoke"/>), one line per check, and
/// exits 1 when a required check fails.
/// </summary>
public static class GpuInfoCommand
{
    public static Command Create()
    {
        var smoke = new Option<bool>("--smoke") { Description = "Run the smoke checks: accelerator, a kernel, cuBLAS on a gpulet, events, host registration, CUDA graphs, green contexts, memory" };
        var device = new Option<string>("--device") { Description = "Device of the smoke checks: cuda or ilgpu-cpu", DefaultValueFactory = _ => "cuda" };
        device.AcceptOnlyFromAmong("cuda", "ilgpu-cpu");
        var json = new Option<FileInfo?>("--json") { Description = "Write the probe and the smoke checks as JSON to this file" };
        var command = new Command("gpu-info", "Show the CUDA driver, CUDA devices and cuBLAS this machine has; --smoke checks each native path") { smoke, device, json };
        command.SetAction(parse =>
        {
            var probe = GpuProbe.Run();
            Console.Write(probe.Describe());
            var checks = new List<SmokeCheck>();
            void Save()
            {
                if (parse.GetValue(json) is { } file)
                {
                    Benchmarks.BenchmarkJson.Write(file.FullName, new { probe = probe.Describe(), smoke = parse.GetValue(smoke) ? GpuSmoke.Report(checks) : null });
                }
            }
            Save();
            if (parse.GetValue(smoke))
            {
                // Each line and the file as each check ends: a native fault in a later check keeps what came before.
                GpuSmoke.Run(parse.GetRequiredValue(device) == "cuda" ? GpuDeviceKind.Cuda : GpuDeviceKind.IlgpuCpu, progress: check =>
                {
                    checks.Add(check);
                    Console.WriteLine(check.Line);
                    Save();
                });
            }
            return GpuSmoke.RequiredPassed(checks) ? 0 : 1;
        });
        return command;
    }
}
