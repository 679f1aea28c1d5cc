using System.Buffers.Binary;
using Google.Protobuf;
using OrleansServe.Onnx.Proto;
using OrleansServe.Tensors;

namespace OrleansServe.Onnx;

/// <summary>One dimension of a declared input or output shape: a fixed size or a named symbolic (dynamic) size.</summary>
public readonly record struct Dim
{
    private Dim(long? size, string? symbol) => (Size, Symbol) = (size, symbol);

    /// <summary>The fixed size, or null for a symbolic dimension.</summary>
    public long? Size { get; }

    /// <summary>The symbol (ONNX dim_param, e.g. "batch"), or null for a fixed dimension.</summary>
    public string? Symbol { get; }

    public static Dim Fixed(long size) =>
        size >= 0 ? new(size, null) : throw new ArgumentOutOfRangeException(nameof(size), size, "a fixed dimension cannot be negative");

    public static Dim Symbolic(string symbol) =>
        string.IsNullOrEmpty(symbol) ? throw new ArgumentException("a symbolic dimension needs a name", nameof(symbol)) : new(null, symbol);

    public static implicit operator Dim(long size) => Fixed(size);

    public static implicit operator Dim(string symbol) => Symbolic(symbol);

    public override string ToString() => Symbol ?? Size!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Attribute values for <see cref="OnnxGraphBuilder.AddNode(string, IReadOnlyList{string}, ReadOnlySpan{Proto.Attribute})"/>.</summary>
public static class OnnxAttribute
{
    public static Proto.Attribute Int(string name, long value) =>
        new() { Name = name, Type = Proto.Attribute.Types.Kind.Int, I = value };

    public static Proto.Attribute Ints(string name, params long[] values) =>
        new() { Name = name, Type = Proto.Attribute.Types.Kind.Ints, Ints = { values } };

    public static Proto.Attribute Float(string name, float value) =>
        new() { Name = name, Type = Proto.Attribute.Types.Kind.Float, F = value };

    public static Proto.Attribute Floats(string name, params float[] values) =>
        new() { Name = name, Type = Proto.Attribute.Types.Kind.Floats, Floats = { values } };

    public static Proto.Attribute String(string name, string value) =>
        new() { Name = name, Type = Proto.Attribute.Types.Kind.String, S = ByteString.CopyFromUtf8(value) };
}

/// <summary>
/// Writes small ONNX models (IR version 8, default-domain opset 17): declare inputs and outputs,
/// add initializers and nodes in topological order, then call <see cref="ToBytes"/>.
/// </summary>
public sealed class OnnxGraphBuilder
{
    public const long IrVersion = 8;
    public const long DefaultOpsetVersion = 17;
    public const string ProducerName = "OrleansServe";

    private readonly Graph _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _nodeCount;

    public OnnxGraphBuilder(string graphName = "main") => _graph = new Graph { Name = graphName };

    /// <summary>Declares a graph input; returns its name so it can feed nodes.</summary>
    public string AddInput(string name, ElementType type, params ReadOnlySpan<Dim> shape)
    {
        _graph.Input.Add(ValueInfoOf(Claim(name), type, shape));
        return name;
    }

    /// <summary>Declares a graph output; a node must produce a value of that name.</summary>
    public string AddOutput(string name, ElementType type, params ReadOnlySpan<Dim> shape)
    {
        // The output is produced by a node, so its name is already claimed; only the declaration is new.
        if (_graph.Output.Any(o => o.Name == name))
        {
            throw new ArgumentException($"output '{name}' is already declared", nameof(name));
        }
        _graph.Output.Add(ValueInfoOf(name, type, shape));
        return name;
    }

    /// <summary>Adds a float initializer stored as little-endian raw_data; returns its name.</summary>
    public string AddInitializer(string name, long[] dims, float[] values)
    {
        CheckElementCount(dims, values.Length);
        var raw = new byte[values.Length * sizeof(float)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), values[i]);
        }
        return AddRawInitializer(name, dims, ElementType.Fp32, raw);
    }

    /// <summary>Adds an int64 initializer (e.g. a Reshape target shape) stored as little-endian raw_data; returns its name.</summary>
    public string AddInitializer(string name, long[] dims, long[] values)
    {
        CheckElementCount(dims, values.Length);
        var raw = new byte[values.Length * sizeof(long)];
        for (var i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), values[i]);
        }
        return AddRawInitializer(name, dims, ElementType.Int64, raw);
    }

    /// <summary>Adds a node with one output, named after the operator and position; returns the output name.</summary>
    public string AddNode(string opType, IReadOnlyList<string> inputs, params ReadOnlySpan<Proto.Attribute> attributes)
    {
        var output = $"{opType.ToLowerInvariant()}_{_nodeCount}";
        AddNode(opType, inputs, [output], attributes);
        return output;
    }

    /// <summary>Adds a node whose outputs are named by the caller (e.g. to produce a graph output).</summary>
    public void AddNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params ReadOnlySpan<Proto.Attribute> attributes)
    {
        var node = new Node { OpType = opType, Name = $"{opType}_{_nodeCount++}" };
        node.Input.Add(inputs);
        foreach (var output in outputs)
        {
            node.Output.Add(Claim(output));
        }
        foreach (var attribute in attributes)
        {
            node.Attribute.Add(attribute);
        }
        _graph.Node.Add(node);
    }

    /// <summary>Serializes the model. Building is deterministic: the same calls give the same bytes.</summary>
    public byte[] ToBytes() => ToModel().ToByteArray();

    /// <summary>
    /// Serializes the model straight into a stream (the same bytes as <see cref="ToBytes"/>), so a model of
    /// hundreds of megabytes is not held a second time as one array.
    /// </summary>
    public void WriteTo(Stream stream) => ToModel().WriteTo(stream);

    private Model ToModel() => new()
    {
        IrVersion = IrVersion,
        ProducerName = ProducerName,
        Graph = _graph,
        OpsetImport = { new OpsetId { Domain = "", Version = DefaultOpsetVersion } },
    };

    private string AddRawInitializer(string name, long[] dims, ElementType type, byte[] raw)
    {
        // raw is a fresh array no caller can reach, so wrapping it saves a copy of every weight.
        var tensor = new Proto.Tensor { Name = Claim(name), DataType = type.ToOnnxCode(), RawData = UnsafeByteOperations.UnsafeWrap(raw) };
        tensor.Dims.Add(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    private string Claim(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("a value needs a name", nameof(name));
        }
        if (!_names.Add(name))
        {
            throw new ArgumentException($"the graph already has a value named '{name}'", nameof(name));
        }
        return name;
    }

    private static void CheckElementCount(long[] dims, int count)
    {
        var expected = dims.Aggregate(1L, (product, d) => product * d);
        if (expected != count)
        {
            throw new ArgumentException($"shape [{string.Join(',', dims)}] holds {expected} elements but {count} values were given");
        }
    }

    private static ValueInfo ValueInfoOf(string name, ElementType type, ReadOnlySpan<Dim> shape)
    {
        var tensorShape = new Shape();
        foreach (var dim in shape)
        {
            tensorShape.Dim.Add(dim.Symbol is { } symbol
                ? new Shape.Types.Dimension { DimParam = symbol }
                : new Shape.Types.Dimension { DimValue = dim.Size!.Value });
        }
        return new ValueInfo
        {
            Name = name,
            Type = new TypeInfo { TensorType = new TypeInfo.Types.TensorType { ElemType = type.ToOnnxCode(), Shape = tensorShape } },
        };
    }
}
