using System.Runtime.InteropServices;

namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class CuBlasNativeTests
{
    [Fact]
    public void Refuses_a_library_without_the_cublas_entry_points_and_names_them()
    {
        Assert.True(OperatingSystem.IsLinux(), "this test binds the C library, which it finds by its Linux soname");
        var libc = new LoadedNativeLibrary("libc.so.6", NativeLibrary.Load("libc.so.6"));

        var error = Assert.Throws<EntryPointNotFoundException>(() => new CuBlasNative(libc));

        Assert.Contains("libc.so.6 is not a usable cuBLAS", error.Message);
        Assert.Contains("cublasCreate_v2", error.Message);
        Assert.Contains("cublasSgemmStridedBatched", error.Message);
        Assert.DoesNotContain("cublasSetSmCountTarget", error.Message); // optional: reported, never required
    }

    [Fact]
    public void A_failed_call_names_the_function_and_the_status()
    {
        var error = Assert.Throws<CuBlasException>(() => CuBlasException.ThrowIfFailed(CuBlasStatus.InvalidValue, "cublasSgemm_v2"));

        Assert.Equal("cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE (7)", error.Message);
        Assert.Equal(CuBlasStatus.InvalidValue, error.Status);
    }

    [Fact]
    public void An_unknown_status_keeps_its_number()
    {
        Assert.Equal("CUBLAS_STATUS_UNKNOWN_99", CuBlasException.StatusName((CuBlasStatus)99));
    }

    [Fact]
    public void Success_does_not_throw()
    {
        CuBlasException.ThrowIfFailed(CuBlasStatus.Success, "cublasCreate_v2");
    }

    [Theory]
    [InlineData(130100, "13.1.0")]
    [InlineData(120405, "12.4.5")]
    [InlineData(110201, "11.2.1")]
    public void Formats_the_handle_version_number(int version, string formatted)
    {
        Assert.Equal(formatted, CuBlasNative.FormatVersion(version));
    }

    [Fact]
    public void Loading_where_cublas_is_absent_throws_the_probe_report()
    {
        if (CudaLibraries.ProbeCuBlas().Found)
        {
            return; // a machine with cuBLAS has no failure to show
        }

        var error = Assert.Throws<DllNotFoundException>(() => CuBlasNative.Load());

        Assert.StartsWith("cuBLAS not found, probed: ", error.Message);
    }
}
