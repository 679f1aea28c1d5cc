using System.CommandLine;
using OrleansServe.Cli.Commands;
using OrleansServe.Cli.Simulation;

DefaultSimulation.Register();

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
};

return await root.Parse(args).InvokeAsync();
