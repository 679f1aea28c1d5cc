namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class NativeLibraryProbeTests
{
    [Theory]
    [InlineData("python3.12", "python3*", true)]
    [InlineData("python2.7", "python3*", false)]
    [InlineData("cuda-13.1", "cuda-13*", true)]
    [InlineData("cuda-12.8", "cuda-13*", false)]
    [InlineData("ab", "a*b*", true)]
    [InlineData("a", "a*a", false)]
    [InlineData("lib64", "lib64", true)]
    public void Matches_a_star_against_any_run_of_characters(string name, string pattern, bool matches)
    {
        Assert.Equal(matches, NativeLibraryProbe.WildcardMatches(name, pattern));
    }

    [Theory]
    [InlineData("libcublas.so.13", 13)]
    [InlineData("libcublas.so.12.4.5.8", 12)]
    [InlineData("cublas64_13.dll", 13)]
    [InlineData("libcublas.so", null)]
    public void Reads_the_major_version_from_a_file_name(string fileName, int? major)
    {
        Assert.Equal(major, NativeLibraryProbe.MajorVersionOf(fileName));
    }

    [Fact]
    public void Expands_star_segments_to_existing_folders_newest_first()
    {
        var host = new FakeLibraryHost()
            .WithFile("/usr/lib/python3.10/site-packages/x")
            .WithFile("/usr/lib/python3.12/site-packages/x")
            .WithFile("/usr/lib/python3.11/dist-packages/x");

        var folders = NativeLibraryProbe.ExpandFolders("/usr/lib/python3*/site-packages", host);

        Assert.Equal(["/usr/lib/python3.12/site-packages", "/usr/lib/python3.10/site-packages"], folders);
    }

    [Fact]
    public void Keeps_only_the_loaders_own_words_from_a_load_failure()
    {
        const string message =
            "Unable to load shared library 'libcublas.so.13' or one of its dependencies. In order to help diagnose " +
            "loading problems, consider using a tool like strace.\nlibcublas.so.13: cannot open shared object file: No such file or directory\n";

        Assert.Equal("libcublas.so.13: cannot open shared object file: No such file or directory",
            SystemNativeLibraryHost.LoaderReason(message));
        Assert.Equal("plain", SystemNativeLibraryHost.LoaderReason("plain"));
    }

    [Fact]
    public void The_system_host_reports_why_a_missing_library_does_not_load()
    {
        var loaded = SystemNativeLibraryHost.Instance.TryLoad("/nonexistent/libnothing.so.1", out var handle, out var error);

        Assert.False(loaded);
        Assert.Equal(IntPtr.Zero, handle);
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.DoesNotContain("consider using a tool like strace", error);
    }
}
