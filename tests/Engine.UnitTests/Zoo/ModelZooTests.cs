using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Xunit.Abstractions;

namespace OrleansServe.Engine.UnitTests.Zoo;

public sealed class ModelZooTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Largest weights and activations (elements at batch one) a tiny model may have, so the CPU simulator runs it in moments.</summary>
    private const long TinyBudget = 50_000;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "orleansserve-modelzoo-" + Guid.NewGuid().ToString("N"));

    /// <summary>Published parameter counts: torchvision's model documentation for the vision models unless noted.</summary>
    public static TheoryData<string, long> PublishedParameterCounts => new()
    {
        // The 6-16-120-84-10 LeNet-5 as frameworks write it (full C3 connectivity, linear output layer).
        { "lenet5", 61_706 },
        { "googlenet", 6_624_904 },
        { "resnet50", 25_557_032 },
        { "resnet152", 60_192_808 },
        { "vgg16", 138_357_544 },
        { "mobilenet_v2", 3_504_872 },
        { "mnasnet1_0", 4_383_312 },
        { "densenet161", 28_681_000 },
        // torchvision's 27,161,264 less its auxiliary classifier (3,326,696), which inference leaves out.
        { "inception_v3", 23_834_568 },
        // OpenVINO Open Model Zoo's ssd_mobilenet_v1_coco: 6.807 M.
        { "ssd_mobilenet_v1", 6_807_000 },
        // Hugging Face bert-base-uncased with the pooler (the paper's "110M").
        { "bert_base", 109_482_240 },
    };

    public static TheoryData<string> TinyModels => [.. ModelZoo.TinyNames];

    public static TheoryData<string> FullSizeModels => [.. ModelZoo.FullSizeNames];

    public static TheoryData<string, int> TinyModelsAndBatchSizes
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (var name in ModelZoo.TinyNames)
            {
                data.Add(name, 1);
                data.Add(name, 2);
            }
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(PublishedParameterCounts))]
    public void Full_size_model_has_its_published_parameter_count_within_one_percent(string model, long published)
    {
        var parameters = ModelZoo.Describe(model).Parameters;

        output.WriteLine($"{model}: {parameters:N0} parameters, published {published:N0} ({100.0 * (parameters - published) / published:+0.00;-0.00}%)");
        Assert.InRange(parameters, published * 0.99, published * 1.01);
    }

    [Fact]
    public void Every_full_size_model_has_a_published_count_to_check()
    {
        Assert.Equal(ModelZoo.FullSizeNames.Order(), PublishedParameterCounts.Select(row => (string)row[0]).Order());
    }

    [Theory]
    [MemberData(nameof(TinyModelsAndBatchSizes))]
    public void Tiny_model_runs_in_onnx_runtime_with_finite_outputs_of_the_described_shapes(string model, int batch)
    {
        RunsWithFiniteOutputsOfTheDescribedShapes(model, batch);
    }

    [Theory]
    [MemberData(nameof(TinyModels))]
    public void Tiny_model_fits_the_simulator_budget_of_weights_and_activations(string model)
    {
        var description = ModelZoo.Describe(model);

        output.WriteLine($"{model}: {description.InitializerElements:N0} weights, {description.ActivationElements:N0} activations");
        Assert.InRange(description.InitializerElements, 1, TinyBudget);
        Assert.InRange(description.ActivationElements, 1, TinyBudget);
    }

    [Theory]
    [MemberData(nameof(TinyModels))]
    public void Tiny_variant_keeps_every_operator_of_its_full_size_model(string tiny)
    {
        var full = tiny[..^"_tiny".Length];

        Assert.Equal(ModelZoo.Describe(full).Operators.Order(), ModelZoo.Describe(tiny).Operators.Order());
    }

    [Theory]
    [MemberData(nameof(TinyModels))]
    [InlineData("mobilenet_v2")]
    [InlineData("mlp")]
    public void Description_matches_the_built_file(string model)
    {
        var description = ModelZoo.Describe(model);
        var bytes = ModelZoo.Build(model);

        Assert.Equal(OnnxModelReader.CountParameters(bytes), description.InitializerElements);
        var signature = OnnxModelReader.ReadSignature(bytes);
        Assert.Equal(Summary(signature), Summary(description.Signature));
    }

    [Theory]
    [MemberData(nameof(TinyModels))]
    public void Building_a_model_twice_gives_identical_bytes(string model)
    {
        Assert.Equal(ModelZoo.Build(model), ModelZoo.Build(model));
    }

    [Fact]
    public void Lenet5_is_the_sample_model_with_the_gpulet_slo()
    {
        Assert.Equal(SampleZoo.Build("lenet5"), ModelZoo.Build("lenet5"));
        Assert.Equal(5, ModelZoo.GetConfig("lenet5").SloMs);
    }

    [Theory]
    [InlineData("lenet5", 5)]
    [InlineData("googlenet", 66)]
    [InlineData("resnet50", 108)]
    [InlineData("ssd_mobilenet_v1", 202)]
    [InlineData("vgg16", 142)]
    [InlineData("mnasnet1_0", 62)]
    [InlineData("mobilenet_v2", 64)]
    [InlineData("densenet161", 202)]
    [InlineData("bert_base", 22)]
    [InlineData("resnet152", 80)]
    [InlineData("inception_v3", 80)]
    public void Model_and_its_tiny_variant_have_the_papers_slo_and_batches_of_up_to_32(string model, double sloMs)
    {
        foreach (var name in new[] { model, model + "_tiny" })
        {
            var config = ModelZoo.GetConfig(name);
            Assert.Equal(sloMs, config.SloMs);
            Assert.Equal(32, config.MaxBatchSize);
        }
    }

    [Fact]
    public void Names_list_each_full_size_model_its_tiny_variant_and_the_other_sample_models()
    {
        Assert.Equal(ModelZoo.FullSizeNames.Select(n => n + "_tiny"), ModelZoo.TinyNames);
        Assert.Equal([.. ModelZoo.FullSizeNames, .. ModelZoo.TinyNames, "tabular_mlp", "mlp", "resnet_small"], ModelZoo.Names);
    }

    [Theory]
    [InlineData("tabular_mlp")]
    [InlineData("mlp")]
    [InlineData("resnet_small")]
    public void Sample_model_is_built_and_configured_as_the_sample_zoo_does(string model)
    {
        Assert.Equal(SampleZoo.Build(model), ModelZoo.Build(model));
        Assert.Equal(SampleZoo.GetConfig(model), ModelZoo.GetConfig(model));
    }

    [Fact]
    public void Unknown_model_name_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => ModelZoo.Build("alexnet"));
        Assert.Throws<ArgumentException>(() => ModelZoo.GetConfig("alexnet"));
        Assert.Throws<ArgumentException>(() => ModelZoo.Describe("alexnet"));
    }

    [Fact]
    public void Repository_streams_each_model_with_its_config()
    {
        string[] models = ["resnet50_tiny", "bert_base_tiny", "mlp"];

        var written = ModelZoo.WriteRepository(_directory, models);

        Assert.Equal(models, written);
        foreach (var name in models)
        {
            Assert.Equal(ModelZoo.Build(name), File.ReadAllBytes(Path.Combine(_directory, name, "1", "model.onnx")));
            Assert.Contains($"\"slo_ms\": {ModelZoo.GetConfig(name).SloMs}", File.ReadAllText(Path.Combine(_directory, name, "config.json")));
        }
    }

    [Fact]
    public void Unknown_model_in_a_repository_request_writes_nothing()
    {
        Assert.Throws<ArgumentException>(() => ModelZoo.WriteRepository(_directory, ["lenet5_tiny", "alexnet"]));

        Assert.False(Directory.Exists(Path.Combine(_directory, "lenet5_tiny")));
    }

    /// <summary>Each full-size model loads in ONNX Runtime and gives finite outputs: a minute and gigabytes, so only on request.</summary>
    [FullSizeTheory]
    [MemberData(nameof(FullSizeModels))]
    public void Full_size_model_runs_in_onnx_runtime_with_finite_outputs_of_the_described_shapes(string model)
    {
        RunsWithFiniteOutputsOfTheDescribedShapes(model, batch: 1);
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static void RunsWithFiniteOutputsOfTheDescribedShapes(string model, int batch)
    {
        var signature = ModelZoo.Describe(model).Signature;
        using var runner = new OrtRunner(ModelZoo.Build(model));
        var inputs = signature.Inputs.ToDictionary(i => i.Name, i => RandomInput(i, batch, seed: batch));
        try
        {
            var results = runner.RunAll(inputs, [.. signature.Outputs.Select(o => o.Name)]);

            foreach (var expected in signature.Outputs)
            {
                var (bytes, shape) = results[expected.Name];
                Assert.Equal([batch, .. expected.Shape[1..]], shape);
                Assert.All(MemoryMarshal.Cast<byte, float>(bytes).ToArray(), v => Assert.True(float.IsFinite(v)));
            }
        }
        finally
        {
            foreach (var value in inputs.Values)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>
    /// A seeded input: images uniform in [-1, 1); token ids below 100 (every vocabulary here is at least that
    /// large); an attention mask that pads the last quarter of each sequence, so masking is exercised.
    /// </summary>
    private static OrtValue RandomInput(TensorSignature input, int batch, int seed)
    {
        long[] shape = [batch, .. input.Shape[1..]];
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var random = new Random(seed);
        if (input.ElementType == ElementType.Fp32)
        {
            return OrtValue.CreateTensorValueFromMemory(random.NextSingleArray(count), shape);
        }
        var sequence = shape[^1];
        var values = input.Name == "attention_mask"
            ? Enumerable.Range(0, (int)count).Select(i => i % sequence < sequence * 3 / 4 ? 1L : 0L).ToArray()
            : Enumerable.Range(0, (int)count).Select(_ => (long)random.Next(100)).ToArray();
        return OrtValue.CreateTensorValueFromMemory(values, shape);
    }

    private static string Summary(ModelSignature signature) =>
        string.Join(' ', signature.Inputs.Concat(signature.Outputs).Select(t => $"{t.Name}:{t.ElementType}[{string.Join(',', t.Shape)}]"));
}
