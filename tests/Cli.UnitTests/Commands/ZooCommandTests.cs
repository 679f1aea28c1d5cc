using System.CommandLine;

namespace OrleansServe.Cli.UnitTests.Commands;

public sealed class ZooCommandTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "orleansserve-zoocommand-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Without_models_it_writes_the_sample_set()
    {
        Assert.Equal(0, Invoke("zoo", "--out", _directory));

        Assert.Equal(SampleZoo.ModelNames.Order(), Directory.GetDirectories(_directory).Select(Path.GetFileName).Order());
        Assert.Equal(SampleZoo.Build("lenet5"), File.ReadAllBytes(Path.Combine(_directory, "lenet5", "1", "model.onnx")));
    }

    [Fact]
    public void Named_models_may_be_evaluation_tiny_or_sample_models()
    {
        Assert.Equal(0, Invoke("zoo", "--out", _directory, "--models", "resnet50_tiny, bert_base_tiny,mlp"));

        Assert.Equal(["bert_base_tiny", "mlp", "resnet50_tiny"], Directory.GetDirectories(_directory).Select(Path.GetFileName).Order());
        Assert.Equal(ModelZoo.Build("bert_base_tiny"), File.ReadAllBytes(Path.Combine(_directory, "bert_base_tiny", "1", "model.onnx")));
    }

    [Fact]
    public void An_unknown_model_fails_and_writes_nothing()
    {
        Assert.Equal(1, Invoke("zoo", "--out", _directory, "--models", "lenet5_tiny,alexnet"));

        Assert.False(Directory.Exists(_directory));
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static int Invoke(params string[] args) => new RootCommand { ZooCommand.Create() }.Parse(args).Invoke();
}
