using OrleansServe.Engine.Gpu.Native;

namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class CudaDriverApiTests
{
    [Fact]
    public void A_machine_without_a_driver_is_refused_naming_every_library_tried()
    {
        var error = Assert.Throws<DllNotFoundException>(() => CudaDriverApi.Bind(new FakeLibraryHost(), (_, _) => IntPtr.Zero));

        Assert.Contains("the CUDA driver library does not load", error.Message);
        Assert.Contains("libcuda.so.1: ", error.Message);
        Assert.Contains("/usr/lib/wsl/lib/libcuda.so.1: ", error.Message);
    }

    [Fact]
    public void A_driver_lacking_entry_points_is_refused_naming_each_missing_one()
    {
        var host = new FakeLibraryHost().WithLoaderPathLibrary("libcuda.so.1");
        IntPtr Export(IntPtr handle, string name) =>
            name is "cuStreamWaitEvent" or "cuMemGetInfo_v2" ? IntPtr.Zero : new IntPtr(1);

        var error = Assert.Throws<EntryPointNotFoundException>(() => CudaDriverApi.Bind(host, Export));

        Assert.Contains("libcuda.so.1 lacks cuStreamWaitEvent, cuMemGetInfo_v2", error.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Reports_green_contexts_only_when_both_calls_are_exported(bool greenContexts)
    {
        var host = new FakeLibraryHost().WithLoaderPathLibrary("libcuda.so.1");
        IntPtr Export(IntPtr handle, string name) =>
            CudaDriverApi.RequiredExports.Contains(name) || (greenContexts && name == "cuGreenCtxCreate") ||
            (greenContexts && name == "cuDevSmResourceSplitByCount")
                ? new IntPtr(1)
                : IntPtr.Zero;

        var api = CudaDriverApi.Bind(host, Export);

        Assert.Equal("libcuda.so.1", api.Library);
        Assert.Equal(greenContexts, api.HasGreenContexts);
    }
}
