namespace OrleansServe.Onnx;

/// <summary>A model the engine cannot plan: a bad graph, an unsupported operator or attribute, or shapes that do not fit.</summary>
public class ModelPlanException(string message) : Exception(message);

/// <summary>A node that uses an operator the engine does not implement.</summary>
public sealed record UnsupportedNode(string Node, string OpType, string Domain);

/// <summary>The model uses operators the engine does not implement; every such node is listed.</summary>
public sealed class UnsupportedOperatorException(IReadOnlyList<UnsupportedNode> nodes)
    : ModelPlanException(Describe(nodes))
{
    /// <summary>Every node whose operator is not implemented.</summary>
    public IReadOnlyList<UnsupportedNode> Nodes { get; } = nodes;

    private static string Describe(IReadOnlyList<UnsupportedNode> nodes) =>
        $"unsupported operator(s): {string.Join(", ", nodes.Select(n => $"node '{n.Node}' uses {(n.Domain.Length > 0 ? n.Domain + "." : "")}{n.OpType}"))}";
}
