using OrleansServe.Engine.Onnx;

namespace OrleansServe.Engine.Zoo;

/// <summary>Writes common neural-network layers into a graph, with weights drawn from a seeded stream.</summary>
internal sealed class LayerWriter(OnnxGraphBuilder graph, ulong seed)
{
    private readonly SeededWeights _weights = new(seed);

    public OnnxGraphBuilder Graph => graph;

    /// <summary>A fully connected layer y = x·Wᵀ + b, with W stored [out, in] as in most training frameworks.</summary>
    public string Gemm(string prefix, string x, int inFeatures, int outFeatures, string? output = null)
    {
        var weight = graph.AddInitializer($"{prefix}.weight", [outFeatures, inFeatures], _weights.HeNormal(outFeatures * inFeatures, inFeatures));
        var bias = graph.AddInitializer($"{prefix}.bias", [outFeatures], _weights.Normal(outFeatures, 0, 0.01));
        return Node("Gemm", [x, weight, bias], output, OnnxAttribute.Int("transB", 1));
    }

    /// <summary>A square 2-D convolution; without bias when a BatchNormalization follows.</summary>
    public string Conv(string prefix, string x, int inChannels, int outChannels, int kernel, int stride = 1, int pad = 0, bool bias = true)
    {
        var fanIn = inChannels * kernel * kernel;
        var weight = graph.AddInitializer($"{prefix}.weight", [outChannels, inChannels, kernel, kernel], _weights.HeNormal(outChannels * fanIn, fanIn));
        List<string> inputs = [x, weight];
        if (bias)
        {
            inputs.Add(graph.AddInitializer($"{prefix}.bias", [outChannels], _weights.Normal(outChannels, 0, 0.01)));
        }
        return graph.AddNode("Conv", inputs,
            OnnxAttribute.Ints("kernel_shape", kernel, kernel),
            OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", pad, pad, pad, pad));
    }

    /// <summary>Inference-mode batch normalization with plausible trained statistics (scale ≈ 1, bias ≈ 0, var ≈ 1).</summary>
    public string BatchNorm(string prefix, string x, int channels)
    {
        var scale = graph.AddInitializer($"{prefix}.scale", [channels], _weights.Normal(channels, 1, 0.05));
        var bias = graph.AddInitializer($"{prefix}.bias", [channels], _weights.Normal(channels, 0, 0.05));
        var mean = graph.AddInitializer($"{prefix}.mean", [channels], _weights.Normal(channels, 0, 0.1));
        var variance = graph.AddInitializer($"{prefix}.var", [channels], _weights.Uniform(channels, 0.5, 1.5));
        return graph.AddNode("BatchNormalization", [x, scale, bias, mean, variance], OnnxAttribute.Float("epsilon", 1e-5f));
    }

    public string Relu(string x) => graph.AddNode("Relu", [x]);

    public string MaxPool(string x, int kernel, int stride) =>
        graph.AddNode("MaxPool", [x], OnnxAttribute.Ints("kernel_shape", kernel, kernel), OnnxAttribute.Ints("strides", stride, stride));

    public string Flatten(string x) => graph.AddNode("Flatten", [x], OnnxAttribute.Int("axis", 1));

    public string Softmax(string x, string? output = null) => Node("Softmax", [x], output, OnnxAttribute.Int("axis", 1));

    private string Node(string opType, IReadOnlyList<string> inputs, string? output, params ReadOnlySpan<Onnx.Proto.Attribute> attributes)
    {
        if (output is null)
        {
            return graph.AddNode(opType, inputs, attributes);
        }
        graph.AddNode(opType, inputs, [output], attributes);
        return output;
    }
}
