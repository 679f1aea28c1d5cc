using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;

namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class CudaDriverTests
{
    [Fact]
    public void Ilgpu_imports_the_cuda_driver_under_the_names_the_resolver_expects()
    {
        // Pins the fact the resolver rests on: if an ILGPU upgrade renames the import, this fails first.
        var libraries = typeof(Context).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (method, import: method.GetCustomAttribute<DllImportAttribute>()))
            .Where(m => m.import is not null && m.import.EntryPoint == "cuInit")
            .Select(m => m.import!.Value)
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal(new HashSet<string>(["nvcuda", CudaDriver.IlgpuLinuxLibraryName]), libraries);
    }

    [Fact]
    public void Maps_ilgpus_driver_import_to_the_versioned_soname_then_the_mounted_driver_folders_on_linux()
    {
        Assert.Equal(
            ["libcuda.so.1", "/usr/local/nvidia/lib64/libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1"],
            CudaDriver.FallbackCandidates("cuda", isLinux: true));
    }

    [Theory]
    [InlineData("cuda", false)]
    [InlineData("nvcuda", true)]
    [InlineData("cublas", true)]
    public void Leaves_other_libraries_and_platforms_alone(string name, bool isLinux)
    {
        Assert.Empty(CudaDriver.FallbackCandidates(name, isLinux));
    }

    [Fact]
    public void Describes_a_machine_without_a_driver()
    {
        var description = CudaDriver.DescribeDriverLibrary(new FakeLibraryHost());

        Assert.StartsWith("not found (libcuda.so: ", description);
        Assert.Contains("libcuda.so.1: ", description);
    }

    [Fact]
    public void Describes_a_driver_found_only_by_its_versioned_soname()
    {
        var host = new FakeLibraryHost().WithLoaderPathLibrary("libcuda.so.1");

        Assert.Equal("libcuda.so.1", CudaDriver.DescribeDriverLibrary(host));
    }

    [Fact]
    public void Registering_twice_is_harmless()
    {
        CudaDriver.EnsureResolvable();
        CudaDriver.EnsureResolvable();
    }
}
