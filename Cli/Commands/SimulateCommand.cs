using System.CommandLine;
using System.Text.Json;
using OrleansServe.Cli.Simulation;
using OrleansServe.Scheduler;
using OrleansServe.Simulator;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>simulate --workload NAME --policy NAME [--gpus N] [--duration S] [--seed N] [--profile CSV] [--json]</c>: the
/// highest total rate a policy serves a workload at with 99% of requests within SLO, found by planning and simulating.
/// Policies come from <see cref="SimulationPolicies"/>; a policy this build has not registered is an error.
/// </summary>
public static class SimulateCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <param name="output">Where the result goes (standard output by default); errors always go to standard error.</param>
    public static Command Create(TextWriter? output = null)
    {
        var workload = new Option<string>("--workload")
        {
            Description = $"Workload: {string.Join(", ", Workloads.Names)}",
            Required = true,
        };
        var policy = new Option<string>("--policy")
        {
            Description = "Scheduling policy: gpulet, temporal, swap or orleansserve (as registered in this build)",
            Required = true,
        };
        var gpus = new Option<int>("--gpus") { Description = "GPUs available to the plan", DefaultValueFactory = _ => 4 };
        var duration = new Option<double>("--duration") { Description = "Simulated seconds of arrivals per probed rate", DefaultValueFactory = _ => 30 };
        var seed = new Option<int>("--seed") { Description = "Seed of the arrival process (the same seed gives the same result)", DefaultValueFactory = _ => 1 };
        var profile = new Option<FileInfo?>("--profile")
        {
            Description = "Profile CSV with rows model,partition,batch,latency_ms (default: the H100 roofline estimate of the zoo)",
        };
        var memory = new Option<double>("--gpu-memory-gib") { Description = "Device memory per GPU available to models (H100: 80)", DefaultValueFactory = _ => 80 };
        var interferenceMode = new Option<string>("--interference")
        {
            Description = "synthetic: planners predict with a regression fitted to a synthetic contention model that the simulation applies; none: no interference",
            DefaultValueFactory = _ => "synthetic",
        };
        interferenceMode.AcceptOnlyFromAmong("synthetic", "none");
        var serverlessModels = new Option<int>("--serverless-models") { Description = "Models in the serverless workload", DefaultValueFactory = _ => 1000 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object for the run" };
        var command = new Command("simulate", "Find a policy's maximum rate at 99% SLO attainment for a workload by simulation")
        {
            workload, policy, gpus, duration, seed, profile, memory, serverlessModels, json, interferenceMode,
        };
        command.SetAction(parse => Run(
            parse.GetRequiredValue(workload),
            parse.GetRequiredValue(policy),
            parse.GetValue(gpus),
            parse.GetValue(duration),
            parse.GetValue(seed),
            parse.GetValue(profile),
            parse.GetValue(memory),
            parse.GetValue(serverlessModels),
            parse.GetValue(json),
            parse.GetRequiredValue(interferenceMode),
            output ?? Console.Out));
        return command;
    }

    private static int Run(string workloadName, string policyName, int gpus, double durationSeconds, int seed, FileInfo? profile, double memoryGib, int serverlessModels, bool json, string interferenceMode, TextWriter output)
    {
        if (!Workloads.Names.Contains(workloadName))
        {
            Console.Error.WriteLine($"unknown workload '{workloadName}'; known: {string.Join(", ", Workloads.Names)}");
            return 1;
        }
        if (!SimulationPolicies.TryGet(policyName, out var planner))
        {
            var available = SimulationPolicies.Names;
            Console.Error.WriteLine($"policy '{policyName}' is not available in this build"
                + (available.Count == 0 ? "" : $" (available: {string.Join(", ", available)})"));
            return 1;
        }
        if (profile is { Exists: false })
        {
            Console.Error.WriteLine($"profile '{profile.FullName}' does not exist");
            return 1;
        }

        var latency = SimulationPolicies.LatencyModelFactory(profile?.FullName);
        var (interference, actualInterference) = DefaultSimulation.Interference(interferenceMode, latency);
        var cluster = new ClusterSpec(gpus, (long)(memoryGib * (1L << 30)), ClusterSpec.GpuletPartitions);
        var workload = Workloads.ByName(workloadName, serverlessModels);
        var result = MaxRateSearch.Find(planner, workload, cluster, latency, interference, new MaxRateSearchOptions(durationSeconds, seed), actualInterference);

        var report = new
        {
            result.Workload,
            result.Policy,
            result.MaxRateRps,
            result.Gpus,
            result.SloAttainment,
            result.ModelsPerGpu,
            GpusAvailable = gpus,
            DurationS = durationSeconds,
            Seed = seed,
            LatencyModel = profile is null ? $"roofline {DefaultSimulation.Device.Name}" : profile.FullName,
            Interference = interferenceMode,
            Probes = result.Probes.Count,
            result.SimulatedRequests,
            result.SimulatedRequestsPerWallSecond,
        };
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(report, Json));
        }
        else
        {
            output.WriteLine($"{result.Workload} / {result.Policy}: max {result.MaxRateRps:F1} req/s on {result.Gpus} of {gpus} GPUs, "
                + $"SLO attainment {result.SloAttainment:P2}, {result.ModelsPerGpu:F2} models per GPU "
                + $"({result.Probes.Count} probes, {result.SimulatedRequestsPerWallSecond:N0} simulated req/s)");
        }
        return 0;
    }
}
