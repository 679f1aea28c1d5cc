namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class GpuProbeTests
{
    [Fact]
    public void Reports_no_cuda_device_on_a_machine_without_a_driver()
    {
        var driver = CudaDriver.DescribeDriverLibrary();
        if (!driver.StartsWith("not found", StringComparison.Ordinal))
        {
            return; // a CUDA machine: the next test covers it
        }

        var report = GpuProbe.Run();

        Assert.False(report.HasCudaDevice);
        Assert.StartsWith("not found", report.DriverLibrary);
        Assert.Contains("CUDA devices: no CUDA device", report.Describe());
        Assert.Empty(report.Problems);
    }

    [Fact]
    public void Describes_every_part_it_probed()
    {
        var report = GpuProbe.Run();
        var text = report.Describe();

        Assert.Contains("CUDA driver library: ", text);
        Assert.Contains("cuBLAS", text);
        Assert.Contains("green contexts (CUDA >= 12.4", text);
        Assert.Equal(report.HasCudaDevice, text.Contains("CUDA device 0: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Describes_devices_and_cublas_in_one_line_each()
    {
        var report = new GpuProbeReport(
            "libcuda.so.1 (ILGPU: cuda → libcuda.so.1)",
            [new CudaDeviceReport(0, "NVIDIA H100 80GB HBM3", 132, 85_520_809_984, "SM_90", "13.0", "8.8")],
            "cuBLAS: loaded /py/nvidia/cublas/lib/libcublas.so.13",
            "13.1.0",
            CuBlasSmCountTarget: true,
            Problems: [])
        {
            GreenContexts = "yes",
        };

        var lines = report.Describe().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(
        [
            "CUDA driver library: libcuda.so.1 (ILGPU: cuda → libcuda.so.1)",
            "CUDA device 0: NVIDIA H100 80GB HBM3, 132 SMs, 79.6 GiB, SM_90, driver 13.0, PTX ISA 8.8",
            "green contexts (CUDA >= 12.4; the engine's gpulets use grid caps, the benchmark compares): driver exports every call they need: yes",
            "cuBLAS: loaded /py/nvidia/cublas/lib/libcublas.so.13",
            "cuBLAS version 13.1.0, SM count target supported",
        ], lines);
    }
}
