using Microsoft.Extensions.Configuration;
using Orleans.TestingHost;

namespace OrleansServe.Grains.Tests;

/// <summary>
/// A one-silo test cluster over a temporary model repository. Subclasses say which models and settings it has.
/// </summary>
public abstract class ServingCluster : IAsyncLifetime
{
    public string Repository { get; } = Directory.CreateTempSubdirectory("orleansserve-grains-").FullName;

    public TestCluster Cluster { get; private set; } = null!;

    public IGrainFactory Grains => Cluster.Client;

    /// <summary>Writes the repository's models before the silo starts.</summary>
    protected abstract void WriteModels();

    /// <summary>Extra configuration ("OrleansServe:..." keys).</summary>
    protected virtual IEnumerable<KeyValuePair<string, string>> Settings() => [];

    public void AddModel(string name, byte[] onnx, string config, string version = "1")
    {
        var folder = Path.Combine(Repository, name, version);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), onnx);
        File.WriteAllText(Path.Combine(Repository, name, "config.json"), config);
    }

    public async Task InitializeAsync()
    {
        WriteModels();
        var builder = new TestClusterBuilder(initialSilosCount: 1);
        // Real sockets, so that a separate client host can reach the gateway.
        builder.Options.ConnectionTransport = ConnectionTransportType.TcpSocket;
        builder.Properties["OrleansServe:ModelRepository"] = Repository;
        builder.Properties["OrleansServe:WriteSampleZooWhenEmpty"] = "false";
        foreach (var (key, value) in Settings())
        {
            builder.Properties[key] = value;
        }
        builder.AddSiloBuilderConfigurator<Configurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        Directory.Delete(Repository, recursive: true);
    }

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddMemoryGrainStorageAsDefault().AddOrleansServe(siloBuilder.Configuration);
    }
}

/// <summary>Small models whose outputs are known exactly, plus a broken file.</summary>
public sealed class SmallModelsCluster : ServingCluster
{
    protected override void WriteModels()
    {
        AddModel("add", TestModels.AddConstant(1.5f), """{"max_batch_size": 8, "max_queue_delay_ms": 60000}""");
        AddModel("add_fast", TestModels.AddConstant(2f), """{"max_batch_size": 4}""");
        AddModel("add_tiny_queue", TestModels.AddConstant(3f), """{"max_batch_size": 8, "max_queue_delay_ms": 60000, "max_queue_size": 2}""");
        AddModel("typed", TestModels.TypedIdentity(), """{"max_batch_size": 8}""");
        AddModel("fixed", TestModels.FixedShape(), "{}");
        AddModel("broken", [0x08, 0x07, 0x12, 0xff, 0x01], "{}");
        AddModel("unrunnable", Unrunnable(), "{}");
        AddModel("versioned", TestModels.AddConstant(1f), "{}", version: "1");
        AddModel("versioned", TestModels.AddConstant(2f), "{}", version: "2");
        // Given a second version by the reload test while it serves.
        AddModel("reloaded", TestModels.AddConstant(10f), """{"max_batch_size": 4}""");
        AddModel("mlp", SampleZoo.Build("mlp"), """{"max_batch_size": 8}""");
        // Held to their SLOs by admission control: no batch can meet the first, every batch meets the second.
        AddModel("add_tight_slo", TestModels.AddConstant(4f), """{"max_batch_size": 8, "max_queue_delay_ms": 60000, "slo_ms": 0.001}""");
        AddModel("add_loose_slo", TestModels.AddConstant(5f), """{"max_batch_size": 8, "max_queue_delay_ms": 60000, "slo_ms": 1000000}""");
    }

    /// <summary>A well-formed file with a valid signature whose graph uses an operator no runtime knows.</summary>
    private static byte[] Unrunnable()
    {
        var graph = new OnnxGraphBuilder("unrunnable");
        graph.AddInput("x", ElementType.Fp32, "batch", 3);
        graph.AddNode("NoSuchOperator", ["x"], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, "batch", 3);
        return graph.ToBytes();
    }
}

/// <summary>Three sample models on a CPU device whose memory budget holds only one of them at a time.</summary>
public sealed class TightMemoryCluster : ServingCluster
{
    protected override void WriteModels()
    {
        foreach (var name in new[] { "mlp", "lenet5", "resnet_small" })
        {
            AddModel(name, SampleZoo.Build(name), """{"max_batch_size": 4}""");
        }
    }

    protected override IEnumerable<KeyValuePair<string, string>> Settings()
    {
        var largest = new[] { "mlp", "lenet5", "resnet_small" }.Max(n => SampleZoo.Build(n).LongLength);
        yield return new("OrleansServe:CpuDevice:MemoryBudgetBytes", (largest + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
