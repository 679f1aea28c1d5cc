namespace OrleansServe.Cli.UnitTests.Commands;

public sealed class CpuCompareCommandTests
{
    private static CpuCompareCommand.Settings Valid() => new(
        ["resnet_small", "lenet5"], [50, 100], [1, 2], 1, 2, null, null, true, 5, 5, new CpuComparisonOptions(), 1, "", null);

    [Fact]
    public void Valid_settings_pass_validation()
    {
        CpuCompareCommand.Validate(Valid());
    }

    [Fact]
    public void Settings_without_the_whole_device_among_the_partitions_are_refused()
    {
        Assert.Throws<ArgumentException>(() => CpuCompareCommand.Validate(Valid() with { Partitions = [50] }));
    }

    [Fact]
    public void A_model_named_twice_is_refused()
    {
        Assert.Throws<ArgumentException>(() => CpuCompareCommand.Validate(Valid() with { Models = ["lenet5", "lenet5"] }));
    }

    [Fact]
    public void A_tolerance_not_below_the_step_is_refused()
    {
        Assert.Throws<ArgumentException>(() => CpuCompareCommand.Validate(Valid() with { Options = new CpuComparisonOptions(StepRps: 10, ToleranceRps: 10) }));
    }

    [Theory]
    [InlineData("--partitions", "50")]
    [InlineData("--partitions", "50,101")]
    [InlineData("--duration", "0")]
    [InlineData("--slo-factor", "-1")]
    [InlineData("--trials", "0")]
    [InlineData("--slo", "tight")]
    [InlineData("--models", "no_such_model")]
    public void Cpu_compare_exits_with_1_for_an_invalid_argument(string option, string value)
    {
        Assert.Equal(1, CpuCompareCommand.Create(TextWriter.Null).Parse([option, value]).Invoke());
    }

    [Fact]
    public void The_summary_reports_each_policy_s_median_and_the_ratio_of_the_medians()
    {
        CpuPolicyResult Result(string policy, double rate) => new(policy, rate, 0.99, "", []);

        var summary = CpuCompareCommand.Summary([Result("gpulet", 300), Result("temporal", 200), Result("temporal", 100), Result("gpulet", 500), Result("gpulet", 400), Result("temporal", 150)]);

        Assert.Equal(["gpulet", "temporal"], summary.Policies.Select(p => p.Policy));
        Assert.Equal(400, summary.Policies[0].MedianMaxRateRps);
        Assert.Equal(150, summary.Policies[1].MedianMaxRateRps);
        Assert.Equal(400.0 / 150, summary.GpuletOverTemporal, 9);
    }
}
