using System.CommandLine;
using System.Text.Json.Nodes;
using OrleansServe.Engine.Gpu.Native;
using OrleansServe.Engine.Gpu.Planning;

namespace OrleansServe.Cli.UnitTests.Commands;

public sealed class BenchCommandTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("orleansserve-bench-").FullName;

    private sealed class FailingRunner(Exception failure) : IModelRunner
    {
        public string Description => "failing";

        public string? Gemm => null;

        public NamedTensor[] Run(IReadOnlyList<NamedTensor> inputs) => throw failure;

        public void RunCompute(IReadOnlyList<NamedTensor> inputs) => throw failure;

        public void Dispose()
        {
        }
    }

    [Fact]
    public void A_cublas_failure_is_recorded_against_its_model_and_batch_not_thrown()
    {
        var bytes = ModelZoo.Build("lenet5_tiny");
        var failure = new CuBlasException("cublasSgemm_v2", CuBlasStatus.ExecutionFailed);

        var (result, thrown) = BenchCommand.Measure(new FailingRunner(failure), OnnxGraph.Read(bytes), bytes, "lenet5_tiny", 2, 3, 1, parity: false);

        Assert.Same(failure, thrown);
        Assert.Equal(("lenet5_tiny", 2), (result.Model, result.Batch));
        Assert.Equal("CuBlasException: cublasSgemm_v2 failed: CUBLAS_STATUS_EXECUTION_FAILED (13)", result.Error);
    }

    [Fact]
    public void Parity_is_checked_at_every_batch_of_every_model()
    {
        var json = Path.Combine(work, "bench.json");

        var status = new RootCommand { BenchCommand.Create() }.Parse(
            ["bench", "--device", "ilgpu-cpu", "--models", "lenet5_tiny,mobilenet_v2_tiny", "--batches", "1,3", "--parity", "--iterations", "2", "--warmup", "1", "--json", json]).Invoke();

        Assert.Equal(0, status);
        var results = JsonNode.Parse(File.ReadAllText(json))!["results"]!.AsArray();
        Assert.Equal([("lenet5_tiny", 1), ("lenet5_tiny", 3), ("mobilenet_v2_tiny", 1), ("mobilenet_v2_tiny", 3)],
            results.Select(r => ((string)r!["model"]!, (int)r["batch"]!)));
        Assert.All(results, r => Assert.InRange((double)r!["max_relative_error_vs_ort"]!, 0, 1e-4));
    }

    public void Dispose() => Directory.Delete(work, recursive: true);
}
