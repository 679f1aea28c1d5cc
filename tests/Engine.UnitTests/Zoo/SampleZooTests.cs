using System.Text.Json;

namespace OrleansServe.Engine.UnitTests.Zoo;

public sealed class SampleZooTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "orleansserve-zoo-" + Guid.NewGuid().ToString("N"));

    public static TheoryData<string, int> ModelsAndBatchSizes => new()
    {
        { "mlp", 1 }, { "mlp", 4 },
        { "lenet5", 1 }, { "lenet5", 4 },
        { "resnet_small", 1 }, { "resnet_small", 4 },
    };

    [Theory]
    [MemberData(nameof(ModelsAndBatchSizes))]
    public void Sample_model_runs_in_onnx_runtime_with_one_row_of_ten_classes_per_batch_item(string model, int batch)
    {
        var (inputShape, output) = model switch
        {
            "mlp" => (new long[] { batch, 784 }, "probabilities"),
            "lenet5" => ([batch, 1, 28, 28], "probabilities"),
            _ => ([batch, 3, 32, 32], "logits"),
        };
        var input = new Random(batch).NextSingleArray(inputShape.Aggregate(1L, (a, b) => a * b));

        using var runner = new OrtRunner(SampleZoo.Build(model));
        var (values, shape) = runner.Run("input", input, inputShape, output);

        Assert.Equal([batch, 10L], shape);
        Assert.All(values, v => Assert.True(float.IsFinite(v)));
        if (output == "probabilities")
        {
            Assert.All(values.Chunk(10), row => Assert.Equal(1.0, row.Sum(p => (double)p), precision: 4));
        }
    }

    [Fact]
    public void Batch_items_are_computed_independently()
    {
        var single = new Random(5).NextSingleArray(3 * 32 * 32);
        var batch = single.Concat(new Random(6).NextSingleArray(3 * 32 * 32)).ToArray();
        using var runner = new OrtRunner(SampleZoo.Build("resnet_small"));

        var (alone, _) = runner.Run("input", single, [1, 3, 32, 32], "logits");
        var (together, _) = runner.Run("input", batch, [2, 3, 32, 32], "logits");

        Assert.Equal(alone, together[..10], new ToleranceComparer(1e-4f));
        Assert.NotEqual(together[..10], together[10..]);
    }

    [Fact]
    public void Tabular_mlp_gives_three_class_probabilities_per_row()
    {
        using var runner = new OrtRunner(SampleZoo.Build("tabular_mlp"));
        var (values, shape) = runner.Run("features", [5.1f, 3.5f, 1.4f, 0.2f, 6.7f, 3.0f, 5.2f, 2.3f], [2, 4], "probabilities");

        Assert.Equal([2L, 3L], shape);
        Assert.All(values.Chunk(3), row => Assert.Equal(1.0, row.Sum(p => (double)p), precision: 4));
    }

    [Theory]
    [InlineData("tabular_mlp")]
    [InlineData("mlp")]
    [InlineData("lenet5")]
    [InlineData("resnet_small")]
    public void Building_a_sample_model_twice_gives_identical_bytes(string model)
    {
        Assert.Equal(SampleZoo.Build(model), SampleZoo.Build(model));
    }

    [Fact]
    public void Model_names_list_every_sample_model_and_each_builds()
    {
        Assert.Equal(["tabular_mlp", "mlp", "lenet5", "resnet_small"], SampleZoo.ModelNames);
        Assert.All(SampleZoo.ModelNames, name => Assert.NotEmpty(SampleZoo.Build(name)));
    }

    [Fact]
    public void Unknown_model_name_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => SampleZoo.Build("alexnet"));
        Assert.Throws<ArgumentException>(() => SampleZoo.GetConfig("alexnet"));
    }

    [Fact]
    public void Repository_has_a_config_and_a_version_one_model_per_model()
    {
        var written = SampleZoo.WriteRepository(_directory);

        Assert.Equal(SampleZoo.ModelNames, written);
        foreach (var name in SampleZoo.ModelNames)
        {
            Assert.Equal(SampleZoo.Build(name), File.ReadAllBytes(Path.Combine(_directory, name, "1", "model.onnx")));
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_directory, name, "config.json")));
            var expected = SampleZoo.GetConfig(name);
            Assert.Equal(expected.SloMs, config.RootElement.GetProperty("slo_ms").GetDouble());
            Assert.Equal(32, config.RootElement.GetProperty("max_batch_size").GetInt32());
            Assert.Equal(1, config.RootElement.GetProperty("priority").GetInt32());
        }
        Assert.Equal(SampleZoo.ModelNames.Order(), Directory.GetDirectories(_directory).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Repository_holds_only_the_requested_models()
    {
        var written = SampleZoo.WriteRepository(_directory, ["lenet5"]);

        Assert.Equal(["lenet5"], written);
        Assert.Equal(["lenet5"], Directory.GetDirectories(_directory).Select(Path.GetFileName));
    }

    [Fact]
    public void Existing_model_folder_is_left_untouched()
    {
        var existing = Path.Combine(_directory, "mlp");
        Directory.CreateDirectory(existing);
        File.WriteAllText(Path.Combine(existing, "config.json"), "{\"slo_ms\": 99}");

        var written = SampleZoo.WriteRepository(_directory, ["mlp", "lenet5"]);

        Assert.Equal(["lenet5"], written);
        Assert.Equal("{\"slo_ms\": 99}", File.ReadAllText(Path.Combine(existing, "config.json")));
        Assert.False(Directory.Exists(Path.Combine(existing, "1")));
    }

    [Fact]
    public void Unknown_model_in_the_request_writes_nothing()
    {
        Assert.Throws<ArgumentException>(() => SampleZoo.WriteRepository(_directory, ["mlp", "alexnet"]));

        Assert.False(Directory.Exists(Path.Combine(_directory, "mlp")));
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Abs(x));

        public int GetHashCode(float obj) => 0;
    }
}

internal static class RandomExtensions
{
    /// <summary>Values uniform in [-1, 1), standing in for normalized image pixels.</summary>
    public static float[] NextSingleArray(this Random random, long count)
    {
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = random.NextSingle() * 2 - 1;
        }
        return values;
    }
}
