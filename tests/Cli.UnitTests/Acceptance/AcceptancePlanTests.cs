namespace OrleansServe.Cli.UnitTests.Acceptance;

public sealed class AcceptancePlanTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("orleansserve-plan-").FullName;

    private AcceptanceSettings Run(bool dryRun) => new(dryRun, work, "python3", "/repo", ["dotnet", "/app/OrleansServe.Cli.dll"]);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_stages_fit_the_runs_budget_and_each_measuring_command_stops_itself_before_its_deadline(bool dryRun)
    {
        var stages = AcceptancePlan.Stages(Run(dryRun));

        Assert.True(stages.Sum(s => s.Deadline.TotalSeconds) <= AcceptancePlan.BudgetSeconds);
        Assert.True(AcceptancePlan.BudgetSeconds <= 8 * 60 - 20, "the run, unpacking included, must stay within 8 minutes");
        Assert.Equal(stages.Count, stages.Select(s => s.Name).Distinct().Count());
        foreach (var stage in stages.Where(s => s.Arguments.Contains("--time-budget")))
        {
            var soft = double.Parse(stage.Arguments[stage.Arguments.ToList().LastIndexOf("--time-budget") + 1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(soft < stage.Deadline.TotalSeconds, $"{stage.Name} is told {soft} s of a {stage.Deadline.TotalSeconds} s deadline");
        }
    }

    [Fact]
    public void The_stages_come_in_the_order_of_the_issue()
    {
        Assert.Equal(
            ["env", "smoke", "parity-tiny", "parity-full", "latency", "latency-graphs", "pytorch-latency", "bandwidth", "pytorch-bandwidth", "swap", "share", "pairs", "green"],
            AcceptancePlan.Stages(Run(false)).Select(s => s.Name));
    }

    [Fact]
    public void A_dry_run_uses_the_cpu_accelerator_and_only_tiny_models()
    {
        var stages = AcceptancePlan.Stages(Run(true));

        foreach (var stage in stages.Where(s => s.Arguments.Contains("--device") && s.FileName == "dotnet"))
        {
            var args = stage.Arguments.ToList();
            Assert.Equal("ilgpu-cpu", args[args.IndexOf("--device") + 1]);
            if (args.Contains("--models"))
            {
                Assert.All(args[args.IndexOf("--models") + 1].Split(','), m => Assert.EndsWith("_tiny", m));
            }
        }
    }

    [Fact]
    public void The_gpu_run_profiles_gpulets_nine_models_at_every_share_and_batch()
    {
        var share = AcceptancePlan.Stages(Run(false)).Single(s => s.Name == "share").Arguments.ToList();

        Assert.Equal(string.Join(',', AcceptancePlan.SchedulerModels), share[share.IndexOf("--models") + 1]);
        Assert.Equal([20, 40, 50, 60, 80, 100], share[share.IndexOf("--partitions") + 1].Split(',').Select(int.Parse).Order());
        Assert.Equal("1,2,4,8,16,32", share[share.IndexOf("--batches") + 1]);
    }

    [Theory]
    [InlineData("passed", null)]
    [InlineData("failed", "the smoke run found no green contexts (the driver lacks cuGreenCtxCreate)")]
    public void The_green_stage_runs_only_when_the_smoke_run_found_green_contexts(string outcome, string? skip)
    {
        var smoke = Path.Combine(work, "smoke.json");
        File.WriteAllText(smoke, $$$"""{"smoke": {"checks": [{"name": "green-contexts", "outcome": "{{{outcome}}}", "detail": "the driver lacks cuGreenCtxCreate"}]}}""");

        Assert.Equal(skip, AcceptancePlan.NoGreenContexts(smoke));
        Assert.StartsWith("the smoke run left no report", AcceptancePlan.NoGreenContexts(Path.Combine(work, "absent.json")));
    }

    public void Dispose() => Directory.Delete(work, recursive: true);
}
