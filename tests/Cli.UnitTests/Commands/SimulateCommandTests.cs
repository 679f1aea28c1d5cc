using System.Text.Json;
using OrleansServe.Scheduler;
using OrleansServe.Simulator;

namespace OrleansServe.Cli.UnitTests.Commands;

public sealed class SimulateCommandTests
{
    /// <summary>Every model on whole GPUs of its own at batch 1; enough of a policy to drive the command.</summary>
    private sealed class OneGpuPerModelPlanner : IPlanner
    {
        public string Name => "cli-test-one-gpu-per-model";

        public SchedulePlan Plan(IReadOnlyList<ModelDemand> demands, ClusterSpec cluster, ILatencyModel latency, IInterferencePredictor interference)
        {
            var gpus = demands.Take(cluster.MaxGpus).Select((d, i) =>
            {
                var ms = latency.LatencyMs(d.Model.Name, 100, 1);
                return new GpuPlan(i, [new Gpulet(100, [new GpuletAssignment(d.Model.Name, 1, ms, ms, d.RateRps)])]);
            }).ToList();
            var unscheduled = demands.Skip(cluster.MaxGpus).ToDictionary(d => d.Model.Name, _ => "no GPU left");
            return new SchedulePlan(Name, gpus, [], unscheduled);
        }
    }

    [Fact]
    public void Simulate_fails_with_exit_code_1_for_a_policy_this_build_has_not_registered()
    {
        Assert.Equal(1, SimulateCommand.Create().Parse(["--workload", "scenario1", "--policy", "not-registered-here", "--json"]).Invoke());
    }

    [Fact]
    public void Simulate_prints_one_json_object_with_the_max_rate_and_its_figures()
    {
        SimulationPolicies.Register(new OneGpuPerModelPlanner());
        var output = new StringWriter();

        var code = SimulateCommand.Create(output).Parse(["--workload", "scenario2", "--policy", "cli-test-one-gpu-per-model", "--gpus", "2", "--duration", "2", "--json"]).Invoke();

        Assert.Equal(0, code);
        using var document = JsonDocument.Parse(output.ToString());
        var root = document.RootElement;
        Assert.Equal("scenario2", root.GetProperty("workload").GetString());
        Assert.Equal("cli-test-one-gpu-per-model", root.GetProperty("policy").GetString());
        Assert.True(root.GetProperty("max_rate_rps").GetDouble() > 0);
        Assert.Equal(2, root.GetProperty("gpus").GetInt32());
        Assert.True(root.GetProperty("slo_attainment").GetDouble() >= 0.99);
        Assert.Equal(1, root.GetProperty("models_per_gpu").GetDouble());
    }

    [Fact]
    public void The_default_build_simulates_the_four_policies_on_the_h100_roofline_profile()
    {
        OrleansServe.Cli.Simulation.DefaultSimulation.Register();
        Assert.Subset(SimulationPolicies.Names.ToHashSet(), new HashSet<string> { "gpulet", "temporal", "swap", "orleansserve" });

        foreach (var policy in new[] { "gpulet", "temporal" })
        {
            var output = new StringWriter();
            var code = SimulateCommand.Create(output).Parse(["--workload", "scenario2", "--policy", policy, "--gpus", "2", "--duration", "2", "--interference", "none", "--json"]).Invoke();

            Assert.Equal(0, code);
            using var document = JsonDocument.Parse(output.ToString());
            Assert.True(document.RootElement.GetProperty("max_rate_rps").GetDouble() > 0, policy);
            Assert.StartsWith("roofline", document.RootElement.GetProperty("latency_model").GetString());
        }
    }
}
