using System.CommandLine;
using OrleansServe.Engine.Gpu;

namespace OrleansServe.Cli.Commands;

/// <summary><c>gpu-info</c>: what GPU support this machine has (driver, CUDA devices, cuBLAS); never fails for missing hardware.</summary>
public static class GpuInfoCommand
{
    public static Command Create()
    {
        var command = new Command("gpu-info", "Show the CUDA driver, CUDA devices and cuBLAS this machine has");
        command.SetAction(_ =>
        {
            Console.Write(GpuProbe.Run().Describe());
            return 0;
        });
        return command;
    }
}
