namespace OrleansServe.Engine.UnitTests.Gpu;

[Collection(nameof(FakeCudaDriver))]
public sealed class CudaHostRegistrarTests
{
    public CudaHostRegistrarTests() => FakeCudaDriver.Reset();

    private static CudaDriverApi Driver() => new("fake libcuda", FakeCudaDriver.Export);

    [Theory]
    [InlineData(0)]
    [InlineData(4)] // CUDA_ERROR_DEINITIALIZED
    [InlineData(201)] // CUDA_ERROR_INVALID_CONTEXT: the device's context was destroyed first
    [InlineData(709)] // CUDA_ERROR_CONTEXT_IS_DESTROYED
    [InlineData(713)] // CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED
    public void A_range_the_driver_already_released_counts_as_unregistered(int status)
    {
        FakeCudaDriver.UnregisterStatus = status;

        Assert.True(new CudaHostRegistrar(Driver()).TryUnregister(new IntPtr(4096), out var failure));
        Assert.Null(failure);
    }

    [Fact]
    public void Any_other_refusal_is_reported_not_thrown()
    {
        FakeCudaDriver.UnregisterStatus = 1; // CUDA_ERROR_INVALID_VALUE

        Assert.False(new CudaHostRegistrar(Driver()).TryUnregister(new IntPtr(4096), out var failure));
        Assert.Equal("cuMemHostUnregister failed: CUDA_ERROR_FAKE (1)", failure);
    }

    [Fact]
    public void A_device_already_disposed_leaves_nothing_to_unregister()
    {
        var registrar = new CudaHostRegistrar(Driver(), () => throw new ObjectDisposedException("CudaAccelerator"));

        Assert.True(registrar.TryUnregister(new IntPtr(4096), out _));
        Assert.Empty(FakeCudaDriver.Calls);
    }

    [Fact]
    public void A_pinned_buffer_whose_unregistration_fails_still_frees_its_memory_and_says_why()
    {
        FakeCudaDriver.UnregisterStatus = 1;
        var buffer = new PinnedHostBuffer(8192, new CudaHostRegistrar(Driver()), lockPages: false);
        Assert.True(buffer.IsRegistered);

        buffer.Dispose();

        Assert.True(buffer.IsDisposed);
        Assert.False(buffer.IsRegistered);
        Assert.Equal("cuMemHostUnregister failed: CUDA_ERROR_FAKE (1)", buffer.UnregistrationFailure);
    }
}
