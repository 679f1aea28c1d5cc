using System.CommandLine;
using OrleansServe.Cli.Commands;
using OrleansServe.Cli.Simulation;
using Spectre.Console;

DefaultSimulation.Register();
if (Console.IsOutputRedirected)
{
    // Logs of benchmark runs read better unwrapped.
    AnsiConsole.Profile.Width = 240;
}

var root = new RootCommand("OrleansServe command-line tools")
{
    ZooCommand.Create(),
    LoadgenCommand.Create(),
    CheckCommand.Create(),
    RunCommand.Create(),
    BenchCommand.Create(),
    GpuInfoCommand.Create(),
    SimulateCommand.Create(),
    SwapBenchCommand.Create(),
    ProfileCommand.Create(),
    CpuCompareCommand.Create(),
    AcceptanceCommand.Create(),
};

return await root.Parse(args).InvokeAsync();
