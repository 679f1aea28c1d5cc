using System.Text.Json;

namespace OrleansServe.Cli.UnitTests.Commands;

public sealed class RunAndCheckCommandTests : IDisposable
{
    private readonly DirectoryInfo directory = Directory.CreateTempSubdirectory("orleansserve-cli-");

    public void Dispose() => directory.Delete(recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(directory.FullName, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static double[] Data(string responsePath)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(responsePath));
        return [.. document.RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetDouble())];
    }

    [Fact]
    public void Run_gives_the_same_answer_on_the_ilgpu_cpu_accelerator_and_onnx_runtime()
    {
        var model = Write("tabular.onnx", SampleZoo.Build("tabular_mlp"));
        var input = Write("in.json", """{"inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}]}"""u8.ToArray());
        var ort = Path.Combine(directory.FullName, "ort.json");
        var ilgpu = Path.Combine(directory.FullName, "ilgpu.json");

        Assert.Equal(0, RunCommand.Create().Parse([model, "--device", "ort-cpu", "--input", input, "--output", ort]).Invoke());
        Assert.Equal(0, RunCommand.Create().Parse([model, "--device", "ilgpu-cpu", "--input", input, "--output", ilgpu]).Invoke());

        var expected = Data(ort);
        var actual = Data(ilgpu);
        Assert.Equal(6, expected.Length);
        Assert.All(expected.Zip(actual), pair => Assert.True(Math.Abs(pair.First - pair.Second) < 1e-5, $"{pair.First} vs {pair.Second}"));
    }

    [Fact]
    public void Run_fails_with_exit_code_1_when_the_input_does_not_fit_the_model()
    {
        var model = Write("tabular.onnx", SampleZoo.Build("tabular_mlp"));
        var input = Write("bad.json", """{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"""u8.ToArray());
        Assert.Equal(1, RunCommand.Create().Parse([model, "--device", "ilgpu-cpu", "--input", input]).Invoke());
        Assert.Equal(1, RunCommand.Create().Parse([Path.Combine(directory.FullName, "missing.onnx"), "--input", input]).Invoke());
    }

    [Fact]
    public void Check_fails_on_unsupported_operators_and_passes_on_supported_models()
    {
        var graph = new OnnxGraphBuilder("exotic");
        graph.AddInput("x", ElementType.Fp32, 1, 4);
        var y = graph.AddNode("NonMaxSuppression", ["x"]);
        graph.AddNode("TopK", [y], ["z"]);
        graph.AddOutput("z", ElementType.Fp32, 1, 4);
        var exotic = Write("exotic.onnx", graph.ToBytes());

        Assert.Equal(1, CheckCommand.Create().Parse([exotic]).Invoke());
        var json = Path.Combine(directory.FullName, "layers.json");
        Assert.Equal(0, CheckCommand.Create().Parse([Write("lenet.onnx", SampleZoo.Build("lenet5")), "--batch", "4", "--json", json]).Invoke());
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        Assert.True(document.RootElement.GetProperty("flops").GetInt64() > 0);
        Assert.Contains(document.RootElement.GetProperty("layers").EnumerateArray(), l => l.GetProperty("op_type").GetString() == "Conv");
    }

    [Fact]
    public void Bench_writes_results_with_parity_against_onnx_runtime()
    {
        var model = Write("lenet.onnx", SampleZoo.Build("lenet5"));
        var json = Path.Combine(directory.FullName, "bench.json");
        Assert.Equal(0, BenchCommand.Create().Parse(["--device", "ilgpu-cpu", "--models", model, "--batches", "1,2", "--iterations", "2", "--warmup", "1", "--parity", "--json", json]).Invoke());
        using var document = JsonDocument.Parse(File.ReadAllBytes(json));
        var results = document.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        Assert.True(results[0].GetProperty("max_relative_error_vs_ort").GetDouble() < 1e-4);
        Assert.All(results, r => Assert.True(r.GetProperty("median_ms").GetDouble() > 0));
    }
}
