using Google.Protobuf;
using OrleansServe.Onnx;
using OrleansServe.Tensors;

namespace OrleansServe.Onnx;

/// <summary>One node of the graph, in topological order.</summary>
/// <param name="Inputs">Input value names; an empty name is an omitted optional input.</param>
public sealed record GraphNode(string Name, string OpType, string Domain, string[] Inputs, string[] Outputs, NodeAttributes Attributes)
{
    /// <summary>An activation fused into this node by the engine's graph rewrites (Conv or Gemm followed by Relu or Clip).</summary>
    public FusedActivation Activation { get; init; } = FusedActivation.None;

    /// <summary>"node 'name' (Op)", for error messages.</summary>
    public string Describe() => $"node '{Name}' ({OpType})";
}

/// <summary>The ONNX activations a node's epilogue may apply.</summary>
public enum ActivationOp
{
    None,
    Relu,

    /// <summary>Clip to [P0, P1].</summary>
    Clip,
}

/// <summary>An element-wise activation applied in a node's epilogue (an ONNX Relu or Clip fused into its producer).</summary>
public readonly record struct FusedActivation(ActivationOp Op, float P0, float P1)
{
    public static FusedActivation None => new(ActivationOp.None, 0, 0);

    public bool IsNone => Op == ActivationOp.None;
}

/// <summary>A declared graph input or output: element type and dimensions, where a null dimension is dynamic.</summary>
public sealed record GraphValueInfo(string Name, ElementType ElementType, int?[] Shape);

/// <summary>
/// An ONNX model read for the engine: nodes in topological order, initializers on the host, and the
/// declared inputs and outputs. Reading checks structure only; an engine's planner checks operators and shapes.
/// </summary>
public sealed class OnnxGraph
{
    private OnnxGraph(string name, long opset, List<GraphNode> nodes, Dictionary<string, HostTensor> initializers, List<GraphValueInfo> inputs, List<GraphValueInfo> outputs)
    {
        Name = name;
        Opset = opset;
        Nodes = nodes;
        Initializers = initializers;
        Inputs = inputs;
        Outputs = outputs;
    }

    public string Name { get; }

    /// <summary>Version of the default ONNX operator set the model imports.</summary>
    public long Opset { get; }

    public IReadOnlyList<GraphNode> Nodes { get; }

    public IReadOnlyDictionary<string, HostTensor> Initializers { get; }

    /// <summary>Graph inputs fed at run time (initializers listed as inputs by older exporters are left out).</summary>
    public IReadOnlyList<GraphValueInfo> Inputs { get; }

    public IReadOnlyList<GraphValueInfo> Outputs { get; }

    /// <summary>Elements of floating-point initializers.</summary>
    public long ParameterCount => Initializers.Values.Where(t => !t.IsInteger).Sum(t => t.ElementCount);

    /// <summary>Parses ONNX bytes.</summary>
    /// <exception cref="ModelPlanException">The bytes are not an ONNX model, or the graph is malformed (a cycle, an undefined value, a duplicate name).</exception>
    public static OnnxGraph Read(ReadOnlySpan<byte> onnxBytes)
    {
        Onnx.Proto.Model model;
        try
        {
            model = Onnx.Proto.Model.Parser.ParseFrom(onnxBytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ModelPlanException($"the file is not a valid ONNX protobuf (corrupt or truncated): {e.Message}");
        }
        if (model.Graph is null || model.Graph.Node.Count == 0)
        {
            throw new ModelPlanException("the model has no graph nodes");
        }
        var graph = model.Graph;
        var initializers = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var tensor in graph.Initializer)
        {
            initializers[tensor.Name] = HostTensor.FromProto(tensor, "initializer");
        }
        var inputs = graph.Input.Where(i => !initializers.ContainsKey(i.Name)).Select(ToValueInfo).ToList();
        var outputs = graph.Output.Select(ToValueInfo).ToList();
        var nodes = graph.Node.Select((n, index) =>
        {
            var name = string.IsNullOrEmpty(n.Name) ? $"{n.OpType}_{index}" : n.Name;
            return new GraphNode(name, n.OpType, n.Domain, [.. n.Input], [.. n.Output], new NodeAttributes(n.Attribute, $"node '{name}' ({n.OpType})"));
        }).ToList();
        var available = new HashSet<string>(initializers.Keys.Concat(inputs.Select(i => i.Name)), StringComparer.Ordinal);
        var opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(OnnxGraphBuilder.DefaultOpsetVersion).Max();
        return new OnnxGraph(graph.Name, opset, SortTopologically(nodes, available), initializers, inputs, outputs);
    }

    /// <summary>The same model with rewritten nodes and initializers (the engine's graph rewrites).</summary>
    public OnnxGraph With(List<GraphNode> nodes, Dictionary<string, HostTensor> initializers) =>
        new(Name, Opset, nodes, initializers, [.. Inputs], [.. Outputs]);

    private static GraphValueInfo ToValueInfo(Onnx.Proto.ValueInfo info)
    {
        var tensorType = info.Type?.TensorType ?? throw new ModelPlanException($"graph value '{info.Name}' is not a tensor");
        if (!ElementTypes.TryFromOnnxCode(tensorType.ElemType, out var type))
        {
            throw new ModelPlanException($"graph value '{info.Name}' has unknown ONNX element type {tensorType.ElemType}");
        }
        var shape = tensorType.Shape?.Dim.Select(d => d.ValueCase == Onnx.Proto.Shape.Types.Dimension.ValueOneofCase.DimValue && d.DimValue >= 0 ? (int?)checked((int)d.DimValue) : null).ToArray() ?? [];
        return new GraphValueInfo(info.Name, type, shape);
    }

    /// <summary>Kahn's algorithm, keeping file order among ready nodes; names the first value no node produces.</summary>
    private static List<GraphNode> SortTopologically(List<GraphNode> nodes, HashSet<string> available)
    {
        var producers = new Dictionary<string, GraphNode>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            foreach (var output in node.Outputs.Where(o => o.Length > 0))
            {
                if (available.Contains(output) || !producers.TryAdd(output, node))
                {
                    throw new ModelPlanException($"{node.Describe()}: value '{output}' is defined more than once");
                }
            }
        }
        foreach (var node in nodes)
        {
            foreach (var input in node.Inputs.Where(i => i.Length > 0))
            {
                if (!available.Contains(input) && !producers.ContainsKey(input))
                {
                    throw new ModelPlanException($"{node.Describe()}: input '{input}' is not a graph input, an initializer or any node's output");
                }
            }
        }
        var sorted = new List<GraphNode>(nodes.Count);
        var pending = new List<GraphNode>(nodes);
        var ready = new HashSet<string>(available, StringComparer.Ordinal);
        while (pending.Count > 0)
        {
            var progressed = false;
            for (var i = 0; i < pending.Count; i++)
            {
                var node = pending[i];
                if (node.Inputs.All(input => input.Length == 0 || ready.Contains(input)))
                {
                    sorted.Add(node);
                    ready.UnionWith(node.Outputs.Where(o => o.Length > 0));
                    pending.RemoveAt(i--);
                    progressed = true;
                }
            }
            if (!progressed)
            {
                throw new ModelPlanException($"the graph has a cycle through {pending[0].Describe()}");
            }
        }
        return sorted;
    }
}
