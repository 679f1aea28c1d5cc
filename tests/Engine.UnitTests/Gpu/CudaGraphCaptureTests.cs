namespace OrleansServe.Engine.UnitTests.Gpu;

[Collection(nameof(FakeCudaDriver))]
public sealed class CudaGraphCaptureTests
{
    private static readonly IntPtr Stream = new(0x51);

    public CudaGraphCaptureTests() => FakeCudaDriver.Reset();

    private static CudaGraphCapture.GraphDriver Driver() => new(FakeCudaDriver.Export);

    [Fact]
    public void Work_that_throws_while_recording_ends_the_capture_frees_the_graph_and_its_own_error_escapes()
    {
        var failure = new CuBlasException("cublasSgemm_v2", CuBlasStatus.ExecutionFailed);

        var error = Assert.Throws<CuBlasException>(() => CudaGraphCapture.Record(Driver(), Stream, () => throw failure));

        Assert.Same(failure, error);
        Assert.Equal(["cuStreamBeginCapture_v2", "cuStreamEndCapture", $"cuGraphDestroy {FakeCudaDriver.CapturedGraph}"], FakeCudaDriver.Calls);
    }

    [Fact]
    public void A_capture_invalidated_by_the_failing_work_still_reports_the_works_error()
    {
        FakeCudaDriver.EndCaptureStatus = 901; // CUDA_ERROR_STREAM_CAPTURE_INVALIDATED
        FakeCudaDriver.CapturedGraph = IntPtr.Zero;

        var error = Assert.Throws<ArgumentException>(() => CudaGraphCapture.Record(Driver(), Stream, () => throw new ArgumentException("bad view")));

        Assert.Equal("bad view", error.Message);
        Assert.DoesNotContain(FakeCudaDriver.Calls, call => call.StartsWith("cuGraphDestroy", StringComparison.Ordinal));
    }

    [Fact]
    public void A_failed_end_of_capture_is_named_and_the_graph_it_returned_is_freed()
    {
        FakeCudaDriver.EndCaptureStatus = 901;

        var error = Assert.Throws<InvalidOperationException>(() => CudaGraphCapture.Record(Driver(), Stream, () => { }));

        Assert.Equal("cuStreamEndCapture failed: CUDA_ERROR_FAKE (901)", error.Message);
        Assert.Contains($"cuGraphDestroy {FakeCudaDriver.CapturedGraph}", FakeCudaDriver.Calls);
    }

    [Fact]
    public void A_failed_instantiation_frees_the_graph()
    {
        FakeCudaDriver.InstantiateStatus = 2; // CUDA_ERROR_OUT_OF_MEMORY

        var error = Assert.Throws<InvalidOperationException>(() => CudaGraphCapture.Record(Driver(), Stream, () => { }));

        Assert.StartsWith("cuGraphInstantiateWithFlags failed", error.Message);
        Assert.Equal($"cuGraphDestroy {FakeCudaDriver.CapturedGraph}", FakeCudaDriver.Calls[^1]);
    }

    [Fact]
    public void A_recorded_graph_frees_its_executable_and_graph_once_on_dispose()
    {
        var graph = CudaGraphCapture.Record(Driver(), Stream, () => FakeCudaDriver.Calls.Add("enqueued"));

        graph.Dispose();
        graph.Dispose();

        Assert.Equal(
            ["cuStreamBeginCapture_v2", "enqueued", "cuStreamEndCapture", $"cuGraphInstantiateWithFlags {FakeCudaDriver.CapturedGraph}",
             $"cuGraphExecDestroy {new IntPtr(0x7e)}", $"cuGraphDestroy {FakeCudaDriver.CapturedGraph}"],
            FakeCudaDriver.Calls);
    }
}

[CollectionDefinition(nameof(FakeCudaDriver), DisableParallelization = true)]
public sealed class FakeCudaDriverCollection;
