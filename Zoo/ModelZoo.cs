using OrleansServe.Zoo.Architectures;

namespace OrleansServe.Zoo;

/// <summary>
/// The evaluation models of the gpulet and FaaSwap papers, generated at their real sizes with seeded He-initialized
/// weights, and a "_tiny" variant of each that keeps every operator and block kind but is small enough for a slow
/// simulator. Every model takes a dynamic first dimension named "batch"; images are float32 NCHW. The sample models
/// of <see cref="SampleZoo"/> can be built here too, so one entry point serves every generated model.
/// </summary>
public static class ModelZoo
{
    private const int MaxBatchSize = 32;

    private static readonly ZooEntry[] Evaluation =
    [
        // SLOs: gpulet's table, except ResNet-152 and Inception-v3, which come from FaaSwap.
        Entry("lenet5", 2, 5, layers => LeNet.Write(layers, LeNet.Classic)),
        Entry("googlenet", 10, 66, layers => GoogLeNet.Write(layers, GoogLeNet.Full)),
        Entry("resnet50", 11, 108, layers => ResNet.Write(layers, ResNet.ResNet50)),
        Entry("resnet152", 12, 80, layers => ResNet.Write(layers, ResNet.ResNet152)),
        Entry("vgg16", 13, 142, layers => Vgg.Write(layers, Vgg.Vgg16)),
        Entry("mobilenet_v2", 14, 64, layers => MobileNetV2.Write(layers, MobileNetV2.Full)),
        Entry("mnasnet1_0", 15, 62, layers => MnasNet.Write(layers, MnasNet.Full)),
        Entry("densenet161", 16, 202, layers => DenseNet.Write(layers, DenseNet.DenseNet161)),
        Entry("inception_v3", 17, 80, layers => InceptionV3.Write(layers, InceptionV3.Full)),
        Entry("ssd_mobilenet_v1", 18, 202, layers => SsdMobileNetV1.Write(layers, SsdMobileNetV1.Full)),
        Entry("bert_base", 19, 22, layers => Bert.Write(layers, Bert.Base)),
    ];

    private static readonly ZooEntry[] Tiny =
    [
        Entry("lenet5_tiny", 102, 5, layers => LeNet.Write(layers, LeNet.Tiny)),
        Entry("googlenet_tiny", 110, 66, layers => GoogLeNet.Write(layers, GoogLeNet.Tiny)),
        Entry("resnet50_tiny", 111, 108, layers => ResNet.Write(layers, ResNet.ResNet50Tiny)),
        Entry("resnet152_tiny", 112, 80, layers => ResNet.Write(layers, ResNet.ResNet152Tiny)),
        Entry("vgg16_tiny", 113, 142, layers => Vgg.Write(layers, Vgg.Vgg16Tiny)),
        Entry("mobilenet_v2_tiny", 114, 64, layers => MobileNetV2.Write(layers, MobileNetV2.Tiny)),
        Entry("mnasnet1_0_tiny", 115, 62, layers => MnasNet.Write(layers, MnasNet.Tiny)),
        Entry("densenet161_tiny", 116, 202, layers => DenseNet.Write(layers, DenseNet.Tiny)),
        Entry("inception_v3_tiny", 117, 80, layers => InceptionV3.Write(layers, InceptionV3.Tiny)),
        Entry("ssd_mobilenet_v1_tiny", 118, 202, layers => SsdMobileNetV1.Write(layers, SsdMobileNetV1.Tiny)),
        Entry("bert_base_tiny", 119, 22, layers => Bert.Write(layers, Bert.Tiny)),
    ];

    private static readonly Dictionary<string, ZooEntry> ByName = Evaluation.Concat(Tiny).ToDictionary(e => e.Name, StringComparer.Ordinal);

    /// <summary>The evaluation models at their real sizes.</summary>
    public static IReadOnlyList<string> FullSizeNames { get; } = [.. Evaluation.Select(e => e.Name)];

    /// <summary>The tiny variants, each named after its model with "_tiny" appended, in the same order.</summary>
    public static IReadOnlyList<string> TinyNames { get; } = [.. Tiny.Select(e => e.Name)];

    /// <summary>Every model this zoo builds: the evaluation models, their tiny variants, then the sample models it does not already have.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. FullSizeNames, .. TinyNames, .. SampleZoo.ModelNames.Except(FullSizeNames)];

    /// <summary>
    /// The ONNX bytes of a model; identical on every call. Full-size models take hundreds of megabytes:
    /// use <see cref="WriteRepository"/> to put them on disk without holding the file in memory.
    /// </summary>
    /// <exception cref="ArgumentException">No model has that name.</exception>
    public static byte[] Build(string name) => Lookup(name).BuildGraph().ToBytes();

    /// <summary>The serving configuration: the paper's SLO (a tiny variant keeps its model's), batches of up to 32.</summary>
    /// <exception cref="ArgumentException">No model has that name.</exception>
    public static SampleModelConfig GetConfig(string name) => Lookup(name).Config;

    /// <summary>Inputs, outputs and sizes of a model, read from its architecture without building it.</summary>
    /// <exception cref="ArgumentException">No model has that name.</exception>
    public static ZooModelDescription Describe(string name) => Lookup(name).Describe();

    /// <summary>
    /// Writes a model repository: &lt;directory&gt;/&lt;model&gt;/config.json and &lt;directory&gt;/&lt;model&gt;/1/model.onnx,
    /// streaming each model to its file. A model whose folder already exists is left as it is. Returns the models written.
    /// </summary>
    /// <exception cref="ArgumentException">A name is unknown; nothing is written.</exception>
    public static IReadOnlyList<string> WriteRepository(string directory, IEnumerable<string> models)
    {
        // Look every name up before writing any, so a typo does not leave a half-written repository.
        var entries = models.Distinct(StringComparer.Ordinal).Select(Lookup).ToList();
        return ZooEntry.WriteRepository(directory, entries);
    }

    private static ZooEntry Entry(string name, ulong seed, double sloMs, Action<LayerWriter> architecture) =>
        new(name, seed, new SampleModelConfig(sloMs, MaxBatchSize, Priority: 1), architecture);

    private static ZooEntry Lookup(string name) =>
        ByName.TryGetValue(name, out var entry) || SampleZoo.TryGetEntry(name, out entry)
            ? entry
            : throw new ArgumentException($"unknown model '{name}'; known: {string.Join(", ", Names)}", nameof(name));
}
