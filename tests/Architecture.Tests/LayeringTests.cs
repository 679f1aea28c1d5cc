namespace OrleansServe.Architecture.Tests;

/// <summary>The arrows between the projects (issue 14's layout), read from the .csproj files.</summary>
public sealed class LayeringTests
{
    private static readonly ProjectGraph Graph = ProjectGraph.Load();

    /// <summary>The device-side projects: no Orleans, no ASP.NET, no hosting.</summary>
    public static TheoryData<string> DeviceSide => ["Tensors", "Onnx", "Zoo", "Engine", "Engine.OnnxRuntime", "Engine.Gpu"];

    [Theory]
    [MemberData(nameof(DeviceSide))]
    public void Device_side_projects_know_nothing_of_orleans_or_http(string project)
    {
        var packages = Graph.Packages(project);

        Assert.DoesNotContain(packages, p => p.StartsWith("Microsoft.Orleans", StringComparison.Ordinal) || p.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.DoesNotContain(Graph.Reachable(project), p => p.StartsWith("Grains", StringComparison.Ordinal) || p is "ApiHost" or "Silo" or "Scheduler" or "Simulator");
    }

    [Fact]
    public void The_gpu_engine_builds_on_the_engine_which_builds_on_onnx()
    {
        Assert.Contains("Engine", Graph.Reachable("Engine.Gpu"));
        Assert.Contains("Engine", Graph.Reachable("Engine.OnnxRuntime"));
        Assert.Contains("Onnx", Graph.Reachable("Engine"));
        Assert.Contains("Tensors", Graph.Reachable("Onnx"));
        Assert.Contains("Onnx", Graph.Reachable("Zoo"));
    }

    [Fact]
    public void The_engine_is_backend_neutral()
    {
        Assert.DoesNotContain("Engine.Gpu", Graph.Reachable("Engine"));
        Assert.DoesNotContain("Engine.OnnxRuntime", Graph.Reachable("Engine"));
        Assert.DoesNotContain("Zoo", Graph.Reachable("Engine"));
        Assert.DoesNotContain(Graph.Packages("Engine"), p => p.StartsWith("ILGPU", StringComparison.Ordinal) || p.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal));
        Assert.DoesNotContain(Graph.Packages("Engine.OnnxRuntime"), p => p.StartsWith("ILGPU", StringComparison.Ordinal));
        Assert.DoesNotContain(Graph.Packages("Engine.Gpu"), p => p.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal));
    }

    [Fact]
    public void The_two_engine_backends_do_not_know_each_other()
    {
        Assert.DoesNotContain("Engine.OnnxRuntime", Graph.Reachable("Engine.Gpu"));
        Assert.DoesNotContain("Engine.Gpu", Graph.Reachable("Engine.OnnxRuntime"));
    }

    [Fact]
    public void The_simulator_lives_at_the_top_and_bench_holds_no_project()
    {
        Assert.Contains("Simulator", Graph.Projects.Keys);
        Assert.DoesNotContain(Graph.Projects.Keys, p => p.StartsWith("bench/", StringComparison.Ordinal));
    }

    [Fact]
    public void The_client_sdk_is_the_grain_interfaces_and_wire_types_alone()
    {
        Assert.Equal(["Tensors"], Graph.Reachable("Grains.Interfaces").Order());
        Assert.DoesNotContain(Graph.Packages("Grains.Interfaces"), p => p is "Microsoft.Orleans.Server" or "Microsoft.Orleans.Client");
    }

    [Fact]
    public void The_kserve_codec_knows_only_the_sdk()
    {
        Assert.Equal(["Grains.Interfaces", "Tensors"], Graph.Reachable("KServe").Order());
    }

    [Fact]
    public void Hosting_wires_orleans_without_the_grains_or_the_engine()
    {
        Assert.DoesNotContain(Graph.Reachable("Hosting"), p => p.StartsWith("Grains", StringComparison.Ordinal) || p.StartsWith("Engine", StringComparison.Ordinal));
    }

    [Fact]
    public void A_client_only_api_host_reaches_neither_the_grains_nor_the_engine()
    {
        Assert.Contains("Grains", Graph.Conditional["ApiHost"]);
        var clientOnly = Graph.Reachable("ApiHost", conditional: false);

        Assert.DoesNotContain(clientOnly, p => p is "Grains" or "Scheduler" || p.StartsWith("Engine", StringComparison.Ordinal) || p is "Onnx" or "Zoo");
        Assert.Contains("KServe", clientOnly);
        Assert.Contains("Hosting", clientOnly);
    }

    [Fact]
    public void The_endpoints_and_the_codec_use_only_the_sdk()
    {
        var files = Directory.EnumerateFiles(Path.Combine(Graph.Root, "ApiHost", "Apis"), "*.cs")
            .Concat(Directory.EnumerateFiles(Path.Combine(Graph.Root, "KServe"), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            // OrleansServe.Grains itself is the SDK's namespace; its sub-namespaces are the implementation's.
            Assert.DoesNotMatch(@"OrleansServe\.(Grains\.[A-Z]|Engine|Scheduler|Onnx|Zoo)", text);
        }
    }
}
