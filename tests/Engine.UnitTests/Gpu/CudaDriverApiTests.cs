namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class CudaDriverApiTests
{
    [Fact]
    public void A_machine_without_a_driver_is_refused_naming_every_library_tried()
    {
        var error = Assert.Throws<DllNotFoundException>(() => CudaDriverApi.Bind(new FakeLibraryHost(), (_, _) => IntPtr.Zero));

        Assert.Contains("the CUDA driver library does not load", error.Message);
        Assert.Contains("libcuda.so.1: ", error.Message);
        Assert.Contains("/usr/local/nvidia/lib64/libcuda.so.1: ", error.Message);
        Assert.Contains("/usr/lib/wsl/lib/libcuda.so.1: ", error.Message);
    }

    [Fact]
    public void Binds_the_driver_in_the_read_only_driver_mount_when_the_loader_path_has_none()
    {
        var host = new FakeLibraryHost().WithFile("/usr/local/nvidia/lib64/libcuda.so.1");

        var api = CudaDriverApi.Bind(host, (_, _) => new IntPtr(1));

        Assert.Equal("/usr/local/nvidia/lib64/libcuda.so.1", api.Library);
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
    public void Reports_green_contexts_only_when_every_call_they_need_is_exported(bool greenContexts)
    {
        var host = new FakeLibraryHost().WithLoaderPathLibrary("libcuda.so.1");
        // A driver with all but the last green-context call has none.
        IntPtr Export(IntPtr handle, string name) =>
            CudaDriverApi.RequiredExports.Contains(name) || (GreenContextApi.Exports.Contains(name) && (greenContexts || name != GreenContextApi.Exports[^1]))
                ? new IntPtr(1)
                : IntPtr.Zero;

        var api = CudaDriverApi.Bind(host, Export);

        Assert.Equal("libcuda.so.1", api.Library);
        Assert.Equal(greenContexts, api.HasGreenContexts);
        Assert.Equal(greenContexts ? [] : [GreenContextApi.Exports[^1]], api.MissingGreenContextExports);
        if (!greenContexts)
        {
            var error = Assert.Throws<EntryPointNotFoundException>(() => new GreenContextApi(api));
            Assert.Contains(GreenContextApi.Exports[^1], error.Message);
        }
    }
}
