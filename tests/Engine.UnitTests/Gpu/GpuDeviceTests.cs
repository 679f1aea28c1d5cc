using ILGPU.Runtime;

namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class GpuDeviceTests
{
    [Fact]
    public void A_device_whose_construction_fails_releases_its_accelerator_and_context()
    {
        Accelerator? made = null;

        var error = Assert.Throws<InvalidOperationException>(() => GpuDevice.Create(GpuDeviceKind.IlgpuCpu, gemmFactory: device =>
        {
            made = device.Accelerator;
            throw new InvalidOperationException("no GEMM today");
        }));

        Assert.Equal("no GEMM today", error.Message);
        Assert.NotNull(made);
        Assert.True(made.IsDisposed);
        Assert.True(made.Context.IsDisposed);
    }

    [Fact]
    public void A_partition_whose_gemm_fails_leaves_its_device_usable()
    {
        using var device = GpuDevice.Create(GpuDeviceKind.IlgpuCpu);

        Assert.Throws<InvalidOperationException>(() => device.CreatePartition(50, _ => throw new InvalidOperationException("no GEMM")));
        using var partition = device.CreatePartition(50);

        Assert.False(device.Accelerator.IsDisposed);
        Assert.Equal(50, partition.SmPercent);
    }

    [Theory]
    [InlineData(9, 32L << 20)]
    [InlineData(10, 32L << 20)]
    [InlineData(8, 4L << 20)]
    public void Gives_each_cublas_handle_the_workspace_cublas_recommends_for_the_architecture(int major, long bytes)
    {
        Assert.Equal(bytes, CuBlasGemmOptions.RecommendedWorkspaceBytes(major));
    }
}
