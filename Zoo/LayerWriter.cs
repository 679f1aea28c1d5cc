using System.Globalization;
using OrleansServe.Onnx;
using OrleansServe.Tensors;
using Attribute = OrleansServe.Onnx.Proto.Attribute;

namespace OrleansServe.Zoo;

/// <summary>
/// Writes neural-network layers into a graph, tracking every value's shape, with weights drawn from a seeded
/// stream. A counting writer (<see cref="ForCounting"/>) walks the same architecture code but draws and stores
/// no weights, so the size of a 550 MB model can be known in microseconds and always agrees with what is built.
/// </summary>
internal sealed class LayerWriter
{
    /// <summary>The symbol of the dynamic first dimension of every generated model.</summary>
    public const string BatchSymbol = "batch";

    private readonly SeededWeights? _weights;
    private readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);
    private readonly List<TensorSignature> _inputs = [];
    private readonly List<TensorSignature> _outputs = [];
    private readonly List<string> _operators = [];

    public LayerWriter(OnnxGraphBuilder graph, ulong seed)
        : this(graph, new SeededWeights(seed))
    {
    }

    private LayerWriter(OnnxGraphBuilder graph, SeededWeights? weights) => (Graph, _weights) = (graph, weights);

    /// <summary>A writer that records shapes and counts but adds no initializers: its graph is for counting, never for saving.</summary>
    public static LayerWriter ForCounting(string graphName) => new(new OnnxGraphBuilder(graphName), weights: null);

    public OnnxGraphBuilder Graph { get; }

    /// <summary>Trainable elements (weights, biases, normalization scales and shifts, embeddings), as frameworks count parameters.</summary>
    public long Parameters { get; private set; }

    /// <summary>Batch-normalization running means and variances: stored weights that frameworks call buffers, not parameters.</summary>
    public long Statistics { get; private set; }

    /// <summary>Floating-point constants (e.g. Clip bounds, the attention mask's fill value) stored as initializers.</summary>
    public long Constants { get; private set; }

    /// <summary>Elements of every node output for one batch item: the working memory a forward pass writes.</summary>
    public long ActivationElements { get; private set; }

    /// <summary>The distinct operator types written so far, in order of first use.</summary>
    public IReadOnlyList<string> Operators => _operators;

    public IReadOnlyList<TensorSignature> Inputs => _inputs;

    public IReadOnlyList<TensorSignature> Outputs => _outputs;

    /// <summary>Declares a graph input of shape [batch, ..itemShape].</summary>
    public Activation Input(string name, ElementType type, params int[] itemShape)
    {
        Dim[] dims = [BatchSymbol, .. itemShape.Select(d => (Dim)d)];
        Graph.AddInput(name, type, dims);
        _inputs.Add(new TensorSignature(name, type, [-1, .. itemShape.Select(d => (long)d)]));
        return new Activation(name, type, [1, .. itemShape]);
    }

    /// <summary>Declares a value, already produced under its final name, as a graph output.</summary>
    public void Output(Activation x)
    {
        if (!x.Batched)
        {
            throw new ArgumentException($"output '{x.Name}' does not depend on the batch", nameof(x));
        }
        Dim[] dims = [BatchSymbol, .. x.Shape[1..].Select(d => (Dim)d)];
        Graph.AddOutput(x.Name, x.Type, dims);
        _outputs.Add(new TensorSignature(x.Name, x.Type, [-1, .. x.Shape[1..].Select(d => (long)d)]));
    }

    /// <summary>A fully connected layer y = x·Wᵀ + b on [batch, in], with W stored [out, in] as in most training frameworks.</summary>
    public Activation Gemm(string prefix, Activation x, int outFeatures, string? output = null)
    {
        var inFeatures = x.Last;
        var weight = Parameter($"{prefix}.weight", [outFeatures, inFeatures], w => w.HeNormal(outFeatures * inFeatures, inFeatures));
        var bias = Parameter($"{prefix}.bias", [outFeatures], w => w.Normal(outFeatures, 0, 0.01));
        return Node("Gemm", [x.Name, weight, bias], x with { Shape = [x.Shape[0], outFeatures] }, output, OnnxAttribute.Int("transB", 1));
    }

    /// <summary>
    /// A fully connected layer on the last axis of any rank, as MatMul then Add (how transformer exports
    /// write it), with W stored [in, out].
    /// </summary>
    public Activation Linear(string prefix, Activation x, int outFeatures, string? output = null)
    {
        var inFeatures = x.Last;
        var weight = Parameter($"{prefix}.weight", [inFeatures, outFeatures], w => w.HeNormal(inFeatures * outFeatures, inFeatures));
        var bias = Parameter($"{prefix}.bias", [outFeatures], w => w.Normal(outFeatures, 0, 0.01));
        var product = Node("MatMul", [x.Name, weight], x with { Shape = [.. x.Shape[..^1], outFeatures] });
        return Node("Add", [product.Name, bias], product, output);
    }

    /// <summary>A square 2-D convolution; without bias when a BatchNormalization follows. Groups equal to the channels make it depthwise.</summary>
    public Activation Conv(string prefix, Activation x, int outChannels, int kernel, int stride = 1, int pad = 0, bool bias = true, int groups = 1) =>
        Conv(prefix, x, outChannels, (kernel, kernel), (pad, pad), stride, bias, groups);

    /// <summary>A 2-D convolution with a rectangular kernel (e.g. Inception's 1×7 and 7×1) and per-axis padding.</summary>
    public Activation Conv(string prefix, Activation x, int outChannels, (int H, int W) kernel, (int H, int W) pad, int stride = 1, bool bias = true, int groups = 1)
    {
        var inChannels = x.Channels;
        if (inChannels % groups != 0 || outChannels % groups != 0)
        {
            throw new ArgumentException($"{prefix}: {inChannels} → {outChannels} channels do not split into {groups} groups");
        }
        var fanIn = inChannels / groups * kernel.H * kernel.W;
        var weight = Parameter($"{prefix}.weight", [outChannels, inChannels / groups, kernel.H, kernel.W], w => w.HeNormal(outChannels * fanIn, fanIn));
        List<string> inputs = [x.Name, weight];
        if (bias)
        {
            inputs.Add(Parameter($"{prefix}.bias", [outChannels], w => w.Normal(outChannels, 0, 0.01)));
        }
        List<Attribute> attributes =
        [
            OnnxAttribute.Ints("kernel_shape", kernel.H, kernel.W),
            OnnxAttribute.Ints("strides", stride, stride),
            OnnxAttribute.Ints("pads", pad.H, pad.W, pad.H, pad.W),
        ];
        if (groups != 1)
        {
            attributes.Add(OnnxAttribute.Int("group", groups));
        }
        int[] shape = [x.Shape[0], outChannels, WindowCount(x.Shape[2], kernel.H, stride, pad.H, false), WindowCount(x.Shape[3], kernel.W, stride, pad.W, false)];
        return Node("Conv", inputs, x with { Shape = shape }, null, [.. attributes]);
    }

    /// <summary>Inference-mode batch normalization with plausible trained statistics (scale ≈ 1, bias ≈ 0, var ≈ 1).</summary>
    public Activation BatchNorm(string prefix, Activation x, float epsilon = 1e-5f)
    {
        var channels = x.Channels;
        var scale = Parameter($"{prefix}.scale", [channels], w => w.Normal(channels, 1, 0.05));
        var bias = Parameter($"{prefix}.bias", [channels], w => w.Normal(channels, 0, 0.05));
        var mean = Statistic($"{prefix}.mean", [channels], w => w.Normal(channels, 0, 0.1));
        var variance = Statistic($"{prefix}.var", [channels], w => w.Uniform(channels, 0.5, 1.5));
        return Node("BatchNormalization", [x.Name, scale, bias, mean, variance], x, null, OnnxAttribute.Float("epsilon", epsilon));
    }

    /// <summary>Layer normalization over the last axis, with learned scale and shift.</summary>
    public Activation LayerNorm(string prefix, Activation x, float epsilon, string? output = null)
    {
        var features = x.Last;
        var scale = Parameter($"{prefix}.weight", [features], w => w.Normal(features, 1, 0.05));
        var bias = Parameter($"{prefix}.bias", [features], w => w.Normal(features, 0, 0.05));
        return Node("LayerNormalization", [x.Name, scale, bias], x, output, OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", epsilon));
    }

    /// <summary>Rows of a learned table picked by integer indices: the result has the indices' shape plus one axis of width <paramref name="width"/>.</summary>
    public Activation Embedding(string prefix, Activation indices, int rows, int width)
    {
        // BERT-style N(0, 0.02): a lookup table has no fan-in to scale by.
        var table = Parameter($"{prefix}.weight", [rows, width], w => w.Normal(rows * width, 0, 0.02));
        return Node("Gather", [table, indices.Name], new Activation("", ElementType.Fp32, [.. indices.Shape, width], indices.Batched), null, OnnxAttribute.Int("axis", 0));
    }

    public Activation Relu(Activation x) => Node("Relu", [x.Name], x);

    /// <summary>ReLU6 as Clip(x, 0, 6), with the bounds as inputs (opset 11 and later).</summary>
    public Activation Relu6(Activation x) => Node("Clip", [x.Name, Scalar(0).Name, Scalar(6).Name], x);

    public Activation Sigmoid(Activation x, string? output = null) => Node("Sigmoid", [x.Name], x, output);

    public Activation Tanh(Activation x, string? output = null) => Node("Tanh", [x.Name], x, output);

    public Activation Erf(Activation x) => Node("Erf", [x.Name], x);

    public Activation Softmax(Activation x, string? output = null, int axis = 1) => Node("Softmax", [x.Name], x, output, OnnxAttribute.Int("axis", axis));

    public Activation MaxPool(Activation x, int kernel, int stride, int pad = 0, bool ceilMode = false) =>
        Pool("MaxPool", x, kernel, stride, pad, ceilMode, []);

    /// <summary>Average pooling; <paramref name="countIncludePad"/> divides by the whole window as PyTorch's AvgPool2d does by default.</summary>
    public Activation AveragePool(Activation x, int kernel, int stride, int pad = 0, bool countIncludePad = false) =>
        Pool("AveragePool", x, kernel, stride, pad, false, countIncludePad ? [OnnxAttribute.Int("count_include_pad", 1)] : []);

    public Activation GlobalAveragePool(Activation x) => Node("GlobalAveragePool", [x.Name], x with { Shape = [x.Shape[0], x.Channels, 1, 1] });

    public Activation Flatten(Activation x) => Node("Flatten", [x.Name], x with { Shape = [x.Shape[0], (int)(x.Elements / x.Shape[0])] }, null, OnnxAttribute.Int("axis", 1));

    public Activation Add(Activation a, Activation b, string? output = null) => Binary("Add", a, b, output);

    public Activation Sub(Activation a, Activation b) => Binary("Sub", a, b, null);

    public Activation Mul(Activation a, Activation b) => Binary("Mul", a, b, null);

    public Activation Div(Activation a, Activation b) => Binary("Div", a, b, null);

    /// <summary>Batched matrix product: the last two axes multiply, the leading axes broadcast.</summary>
    public Activation MatMul(Activation a, Activation b)
    {
        if (a.Shape[^1] != b.Shape[^2])
        {
            throw new ArgumentException($"MatMul of [{string.Join(',', a.Shape)}] by [{string.Join(',', b.Shape)}]: inner sizes differ");
        }
        int[] shape = [.. Broadcast(a.Shape[..^2], b.Shape[..^2]), a.Shape[^2], b.Shape[^1]];
        return Node("MatMul", [a.Name, b.Name], new Activation("", a.Type, shape, a.Batched || b.Batched));
    }

    public Activation Concat(IReadOnlyList<Activation> parts, int axis = 1, string? output = null)
    {
        var shape = (int[])parts[0].Shape.Clone();
        shape[axis] = parts.Sum(p => p.Shape[axis]);
        return Node("Concat", [.. parts.Select(p => p.Name)], parts[0] with { Shape = shape }, output, OnnxAttribute.Int("axis", axis));
    }

    /// <summary>Reshape to a target in ONNX's terms: 0 copies the input's dimension (so the batch stays dynamic) and one -1 takes the rest.</summary>
    public Activation Reshape(Activation x, params long[] target)
    {
        var shape = new int[target.Length];
        var inferred = -1;
        for (var i = 0; i < target.Length; i++)
        {
            switch (target[i])
            {
                case 0: shape[i] = x.Shape[i]; break;
                case -1: inferred = i; shape[i] = 1; break;
                default: shape[i] = checked((int)target[i]); break;
            }
        }
        if (inferred >= 0)
        {
            shape[inferred] = (int)(x.Elements / shape.Aggregate(1L, (product, d) => product * d));
        }
        if (shape.Aggregate(1L, (product, d) => product * d) != x.Elements)
        {
            throw new ArgumentException($"cannot reshape [{string.Join(',', x.Shape)}] to [{string.Join(',', target)}]");
        }
        var shapeName = Int64Constant([target.Length], target).Name;
        return Node("Reshape", [x.Name, shapeName], x with { Shape = shape, Batched = x.Batched && target[0] == 0 });
    }

    public Activation Transpose(Activation x, params long[] permutation) =>
        Node("Transpose", [x.Name], x with { Shape = [.. permutation.Select(p => x.Shape[p])], Batched = x.Batched && permutation[0] == 0 }, null, OnnxAttribute.Ints("perm", permutation));

    /// <summary>Inserts size-one axes (given as an input, opset 13 and later).</summary>
    public Activation Unsqueeze(Activation x, params long[] axes)
    {
        var shape = x.Shape.ToList();
        foreach (var axis in axes.Order())
        {
            shape.Insert((int)axis, 1);
        }
        return Node("Unsqueeze", [x.Name, Int64Constant([axes.Length], axes).Name], x with { Shape = [.. shape] });
    }

    /// <summary>The slice at one index of an axis, with that axis removed (Gather with a scalar index).</summary>
    public Activation Select(Activation x, int axis, long index) =>
        Node("Gather", [x.Name, Int64Constant([], [index]).Name], x with { Shape = [.. x.Shape[..axis], .. x.Shape[(axis + 1)..]] }, null, OnnxAttribute.Int("axis", axis));

    public Activation Cast(Activation x, ElementType to) => Node("Cast", [x.Name], x with { Type = to }, null, OnnxAttribute.Int("to", to.ToOnnxCode()));

    /// <summary>A float scalar stored once per graph however many layers use it.</summary>
    public Activation Scalar(float value)
    {
        var key = "f32:" + value.ToString("R", CultureInfo.InvariantCulture);
        if (!_constants.TryGetValue(key, out var name))
        {
            name = $"const.{value.ToString("R", CultureInfo.InvariantCulture)}";
            Constants++;
            if (_weights is not null)
            {
                Graph.AddInitializer(name, [], [value]);
            }
            _constants[key] = name;
        }
        return new Activation(name, ElementType.Fp32, [], Batched: false);
    }

    /// <summary>An int64 constant (a shape, axes, indices), stored once per graph per distinct value.</summary>
    public Activation Int64Constant(long[] dims, long[] values)
    {
        var key = $"i64:[{string.Join(',', dims)}]:{string.Join(',', values)}";
        if (!_constants.TryGetValue(key, out var name))
        {
            name = $"const.i64.{_constants.Count}";
            if (_weights is not null)
            {
                Graph.AddInitializer(name, dims, values);
            }
            _constants[key] = name;
        }
        return new Activation(name, ElementType.Int64, [.. dims.Select(d => (int)d)], Batched: false);
    }

    private Activation Pool(string opType, Activation x, int kernel, int stride, int pad, bool ceilMode, Attribute[] extra)
    {
        List<Attribute> attributes = [OnnxAttribute.Ints("kernel_shape", kernel, kernel), OnnxAttribute.Ints("strides", stride, stride)];
        if (pad != 0)
        {
            attributes.Add(OnnxAttribute.Ints("pads", pad, pad, pad, pad));
        }
        if (ceilMode)
        {
            attributes.Add(OnnxAttribute.Int("ceil_mode", 1));
        }
        attributes.AddRange(extra);
        int[] shape = [x.Shape[0], x.Channels, WindowCount(x.Shape[2], kernel, stride, pad, ceilMode), WindowCount(x.Shape[3], kernel, stride, pad, ceilMode)];
        return Node(opType, [x.Name], x with { Shape = shape }, null, [.. attributes]);
    }

    private Activation Binary(string opType, Activation a, Activation b, string? output) =>
        Node(opType, [a.Name, b.Name], new Activation("", a.Type, Broadcast(a.Shape, b.Shape), a.Batched || b.Batched), output);

    /// <summary>Adds a node whose single output has the given type and shape (the template's name is ignored).</summary>
    private Activation Node(string opType, IReadOnlyList<string> inputs, Activation template, string? output = null, params ReadOnlySpan<Attribute> attributes)
    {
        string name;
        if (output is null)
        {
            name = Graph.AddNode(opType, inputs, attributes);
        }
        else
        {
            Graph.AddNode(opType, inputs, [output], attributes);
            name = output;
        }
        if (!_operators.Contains(opType))
        {
            _operators.Add(opType);
        }
        var result = template with { Name = name };
        ActivationElements += result.Elements;
        return result;
    }

    private string Parameter(string name, long[] dims, Func<SeededWeights, float[]> draw)
    {
        Parameters += dims.Aggregate(1L, (product, d) => product * d);
        return AddWeights(name, dims, draw);
    }

    private string Statistic(string name, long[] dims, Func<SeededWeights, float[]> draw)
    {
        Statistics += dims.Aggregate(1L, (product, d) => product * d);
        return AddWeights(name, dims, draw);
    }

    private string AddWeights(string name, long[] dims, Func<SeededWeights, float[]> draw) =>
        _weights is null ? name : Graph.AddInitializer(name, dims, draw(_weights));

    /// <summary>Outputs along one spatial axis of a convolution or pooling window (no dilation).</summary>
    private static int WindowCount(int size, int kernel, int stride, int pad, bool ceilMode)
    {
        var span = size + 2 * pad - kernel;
        if (span < 0)
        {
            throw new ArgumentException($"a {kernel}-wide window does not fit in {size} (+{pad} padding each side)");
        }
        var count = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
        // In ceil mode the last window must still start inside the input or its left padding, as PyTorch and ONNX Runtime require.
        if (ceilMode && (count - 1) * stride >= size + pad)
        {
            count--;
        }
        return count;
    }

    private static int[] Broadcast(int[] a, int[] b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (var i = 1; i <= rank; i++)
        {
            var da = i <= a.Length ? a[^i] : 1;
            var db = i <= b.Length ? b[^i] : 1;
            shape[^i] = da == db || db == 1 ? da : da == 1 ? db : throw new ArgumentException($"[{string.Join(',', a)}] and [{string.Join(',', b)}] do not broadcast");
        }
        return shape;
    }
}
