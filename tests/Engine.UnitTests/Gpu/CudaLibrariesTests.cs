namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class CudaLibrariesTests
{
    private const string WheelFolder = "/usr/local/lib/python3.12/site-packages/nvidia/cublas/lib";

    [Fact]
    public void Uses_only_the_override_variable_when_it_is_set()
    {
        var host = new FakeLibraryHost()
            .WithFile("/opt/blas/libcublas.so.13")
            .WithLoaderPathLibrary("libcublas.so.13");
        host.Environment[CudaLibraries.CuBlasOverrideVariable] = "/opt/blas/libcublas.so.13";

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal("/opt/blas/libcublas.so.13", probe.Loaded?.Path);
        Assert.Equal(["/opt/blas/libcublas.so.13"], host.Loads);
    }

    [Fact]
    public void An_override_that_does_not_load_is_reported_without_falling_back()
    {
        var host = new FakeLibraryHost()
            .WithBrokenFile("/opt/blas/libcublas.so.13", "/opt/blas/libcublas.so.13: wrong ELF class: ELFCLASS32")
            .WithLoaderPathLibrary("libcublas.so.12");
        host.Environment[CudaLibraries.CuBlasOverrideVariable] = "/opt/blas/libcublas.so.13";

        var error = Assert.Throws<DllNotFoundException>(() => CudaLibraries.LoadCuBlas(host: host));

        Assert.Contains("wrong ELF class", error.Message);
        Assert.DoesNotContain("libcublas.so.12", host.Loads);
    }

    [Fact]
    public void Loads_cublasLt_from_the_same_folder_before_cublas()
    {
        var host = new FakeLibraryHost()
            .WithFile($"{WheelFolder}/libcublasLt.so.13")
            .WithFile($"{WheelFolder}/libcublas.so.13");

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal($"{WheelFolder}/libcublas.so.13", probe.Loaded?.Path);
        Assert.Equal($"{WheelFolder}/libcublasLt.so.13", probe.Loaded?.Dependency);
        var lt = host.Loads.IndexOf($"{WheelFolder}/libcublasLt.so.13");
        var cublas = host.Loads.IndexOf($"{WheelFolder}/libcublas.so.13");
        Assert.InRange(lt, 0, cublas - 1);
        Assert.Equal(13, probe.Loaded?.MajorVersionFromName);
    }

    [Fact]
    public void Tries_configured_paths_before_the_loader_path()
    {
        var host = new FakeLibraryHost()
            .WithFile("/srv/cublas/libcublas.so.12")
            .WithLoaderPathLibrary("libcublas.so.13");

        var probe = CudaLibraries.ProbeCuBlas(["/srv/cublas/libcublas.so.12"], host);

        Assert.Equal("/srv/cublas/libcublas.so.12", probe.Loaded?.Path);
    }

    [Fact]
    public void Takes_a_library_the_loader_finds_before_searching_folders()
    {
        var host = new FakeLibraryHost()
            .WithLoaderPathLibrary("libcublas.so.13")
            .WithFile("/usr/local/cuda/lib64/libcublas.so.13");

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal("libcublas.so.13", probe.Loaded?.Path);
    }

    [Fact]
    public void Prefers_the_newest_cublas_in_any_folder_over_an_older_one_in_an_earlier_folder()
    {
        var host = new FakeLibraryHost()
            .WithFile("/usr/local/cuda-12.4/lib64/libcublas.so.12")
            .WithFile("/home/serve/.local/lib/python3.11/site-packages/nvidia/cu13/lib/libcublas.so.13");

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal("/home/serve/.local/lib/python3.11/site-packages/nvidia/cu13/lib/libcublas.so.13", probe.Loaded?.Path);
    }

    [Fact]
    public void A_cuda_12_library_on_the_loader_path_loses_to_a_cuda_13_one_in_a_folder()
    {
        var host = new FakeLibraryHost()
            .WithLoaderPathLibrary("libcublas.so.12")
            .WithFile("/usr/local/cuda/lib64/libcublas.so.13");

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal("/usr/local/cuda/lib64/libcublas.so.13", probe.Loaded?.Path);
    }

    [Fact]
    public void Finds_the_cuda_13_wheel_of_the_python_on_path_without_any_setting()
    {
        // The GPU machine's layout: a virtual environment's interpreter first on PATH, its wheels in cu13/lib.
        const string site = "/opt/torch/.venv/lib/python3.12/site-packages";
        var host = new FakeLibraryHost()
            .WithFile("/opt/torch/.venv/bin/python3")
            .WithFile($"{site}/nvidia/cu13/lib/libcublasLt.so.13")
            .WithFile($"{site}/nvidia/cu13/lib/libcublas.so.13");
        host.Environment["PATH"] = "/opt/torch/.venv/bin:/usr/bin";

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal($"{site}/nvidia/cu13/lib/libcublas.so.13", probe.Loaded?.Path);
        Assert.Equal($"{site}/nvidia/cu13/lib/libcublasLt.so.13", probe.Loaded?.Dependency);
    }

    [Theory]
    [InlineData("VIRTUAL_ENV")]
    [InlineData("CONDA_PREFIX")]
    public void Finds_the_wheels_of_an_active_environment(string variable)
    {
        var host = new FakeLibraryHost().WithFile("/envs/serve/lib/python3.13/site-packages/nvidia/cublas/lib/libcublas.so.13");
        host.Environment[variable] = "/envs/serve/";

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal("/envs/serve/lib/python3.13/site-packages/nvidia/cublas/lib/libcublas.so.13", probe.Loaded?.Path);
    }

    [Fact]
    public void Finds_a_venv_under_opt_even_when_its_python_is_not_on_path()
    {
        var host = new FakeLibraryHost().WithFile("/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13");

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal("/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13", probe.Loaded?.Path);
    }

    [Fact]
    public void Searches_the_newest_toolkit_folder_first()
    {
        var host = new FakeLibraryHost()
            .WithFile("/usr/local/cuda-13.0/lib64/libcublas.so.13")
            .WithFile("/usr/local/cuda-13.1/lib64/libcublas.so.13");

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal("/usr/local/cuda-13.1/lib64/libcublas.so.13", probe.Loaded?.Path);
    }

    [Fact]
    public void Searches_the_python_site_variable_before_system_folders()
    {
        var host = new FakeLibraryHost()
            .WithFile("/venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.13")
            .WithFile("/usr/local/cuda/lib64/libcublas.so.13");
        host.Environment[CudaLibraries.PythonSiteVariable] = "/nowhere:/venv/lib/python3.12/site-packages/";

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal("/venv/lib/python3.12/site-packages/nvidia/cublas/lib/libcublas.so.13", probe.Loaded?.Path);
    }

    [Fact]
    public void Goes_on_past_a_library_the_loader_refuses()
    {
        var host = new FakeLibraryHost()
            .WithBrokenFile("/usr/local/cuda/lib64/libcublas.so.13", "libcudart.so.13: cannot open shared object file")
            .WithFile($"{WheelFolder}/libcublas.so.13");

        var probe = CudaLibraries.ProbeCuBlas(host: host);

        Assert.Equal($"{WheelFolder}/libcublas.so.13", probe.Loaded?.Path);
        Assert.Contains(probe.Probed, line => line.Contains("libcudart.so.13", StringComparison.Ordinal));
    }

    [Fact]
    public void Names_every_place_probed_when_cublas_is_nowhere()
    {
        var host = new FakeLibraryHost().WithFile("/usr/lib/x86_64-linux-gnu/libc.so.6");

        var error = Assert.Throws<DllNotFoundException>(() => CudaLibraries.LoadCuBlas(host: host));

        Assert.StartsWith("cuBLAS not found, probed: ", error.Message);
        Assert.Contains("libcublas.so.13 in the loader path", error.Message);
        Assert.Contains("/usr/local/cuda/lib64: no such folder", error.Message);
        Assert.Contains("/usr/local/cuda-13*/lib64: no such folder", error.Message);
        Assert.Contains("/usr/lib/x86_64-linux-gnu: none of libcublas.so.13", error.Message);
        Assert.Contains(CudaLibraries.CuBlasOverrideVariable, error.Message);
        Assert.Contains(CudaLibraries.PythonSiteVariable, error.Message);
    }

    [Fact]
    public void Uses_windows_names_and_preloads_cublasLt_there()
    {
        var host = new FakeLibraryHost(isWindows: true);
        host.Environment["CUDA_PATH"] = "C:/CUDA/v13.0";

        var search = CudaLibraries.CuBlasSearch(host);

        Assert.Equal(["cublas64_13.dll", "cublas64_12.dll", "cublas64_11.dll"], search.FileNames);
        Assert.Equal(Path.Combine("C:/CUDA/v13.0", "bin", "x64"), search.Folders[0]);
        Assert.Equal("cublasLt64_13.dll", search.DependencyOf("cublas64_13.dll"));
    }

    [Fact]
    public void Searches_the_cuda_13_wheels_x86_64_folder_on_windows()
    {
        var host = new FakeLibraryHost(isWindows: true);
        host.Environment[CudaLibraries.PythonSiteVariable] = "/Python313/Lib/site-packages";

        var search = CudaLibraries.CuBlasSearch(host);

        Assert.Contains(Path.Combine("/Python313/Lib/site-packages", "nvidia/cu13/bin/x86_64"), search.Folders);
    }

    [Fact]
    public void Reports_on_this_machine_without_throwing()
    {
        var probe = CudaLibraries.ProbeCuBlas();

        if (probe.Found)
        {
            Assert.StartsWith("cuBLAS: loaded ", probe.Describe());
        }
        else
        {
            Assert.StartsWith("cuBLAS not found, probed: ", probe.Describe());
            Assert.NotEmpty(probe.Probed);
        }
    }
}
