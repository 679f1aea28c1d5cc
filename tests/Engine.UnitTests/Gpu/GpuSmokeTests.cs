namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class GpuSmokeTests
{
    [Fact]
    public void On_the_cpu_accelerator_the_kernel_check_passes_and_every_cuda_check_is_skipped_by_name()
    {
        var checks = GpuSmoke.Run(GpuDeviceKind.IlgpuCpu);

        Assert.Equal(["accelerator", "kernel", .. GpuSmoke.CudaOnly.Select(c => c.Name)], checks.Select(c => c.Name));
        Assert.All(checks.Take(2), c => Assert.Equal(SmokeOutcome.Passed, c.Outcome));
        Assert.All(checks.Skip(2), c => Assert.Equal((SmokeOutcome.Skipped, "not a CUDA device"), (c.Outcome, c.Detail)));
        Assert.True(GpuSmoke.RequiredPassed(checks));
    }

    [Fact]
    public void Without_a_gpu_the_cuda_checks_fail_the_required_ones_and_say_why()
    {
        if (GpuProbe.Run().HasCudaDevice)
        {
            return; // a machine with a GPU has no failure to show
        }

        var checks = GpuSmoke.Run(GpuDeviceKind.Cuda);

        Assert.Equal(SmokeOutcome.Failed, checks[0].Outcome);
        Assert.Contains("no CUDA device", checks[0].Detail);
        Assert.StartsWith("FAIL accelerator: ", checks[0].Line);
        Assert.False(GpuSmoke.RequiredPassed(checks));
        Assert.All(checks.Skip(2), c => Assert.Equal(SmokeOutcome.Skipped, c.Outcome));
    }

    [Fact]
    public void Only_a_failed_required_check_fails_the_smoke_run()
    {
        SmokeCheck[] optionalFailed = [new("kernel", true, SmokeOutcome.Passed, "", 1), new("memory", false, SmokeOutcome.Failed, "", 1)];
        SmokeCheck[] requiredSkipped = [new("cublas", true, SmokeOutcome.Skipped, "", 0)];
        SmokeCheck[] requiredFailed = [new("cublas", true, SmokeOutcome.Failed, "", 0)];

        Assert.True(GpuSmoke.RequiredPassed(optionalFailed));
        Assert.True(GpuSmoke.RequiredPassed(requiredSkipped));
        Assert.False(GpuSmoke.RequiredPassed(requiredFailed));
    }
}
