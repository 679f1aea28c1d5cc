namespace OrleansServe.Simulator;

/// <summary>Latency SLOs for the zoo models from the papers OrleansServe is measured against.</summary>
public static class PublishedSlos
{
    /// <summary>
    /// Milliseconds per zoo model: gpulet's SLOs (ATC '22) where it served the model; ResNet-152 and Inception-v3,
    /// which gpulet did not serve, get Torpor's vision SLO (80 ms).
    /// </summary>
    public static IReadOnlyDictionary<string, double> Ms { get; } = new Dictionary<string, double>
    {
        ["lenet5"] = 5,
        ["googlenet"] = 66,
        ["resnet50"] = 108,
        ["ssd_mobilenet_v1"] = 202,
        ["vgg16"] = 142,
        ["mnasnet1_0"] = 62,
        ["mobilenet_v2"] = 64,
        ["densenet161"] = 202,
        ["bert_base"] = 22,
        ["resnet152"] = 80,
        ["inception_v3"] = 80,
    };

    /// <summary>Models whose SLO is gpulet's own (the others are Torpor's vision SLO).</summary>
    public static IReadOnlySet<string> FromGpulet { get; } = new HashSet<string>(Ms.Keys.Except(["resnet152", "inception_v3"]));
}
