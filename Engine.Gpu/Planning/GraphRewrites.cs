using OrleansServe.Engine.Gpu.Planning.Operators;
using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning;

/// <summary>
/// Batch-independent rewrites done once when a model is loaded: BatchNormalization folded into the preceding
/// Conv's weights and bias, the bias Add of a linear layer (MatMul by a weight matrix, then Add of a vector)
/// folded into the MatMul, and a Relu or Clip that follows a Conv, Gemm, MatMul or Add fused into its epilogue.
/// </summary>
public static class GraphRewrites
{
    /// <summary>
    /// The graph the GPU engine executes (what its host weights are packed from): refused with every operator it lacks
    /// (<see cref="UnsupportedOperatorException"/>), else <see cref="Optimize"/>d.
    /// </summary>
    public static OnnxGraph ForGpu(OnnxGraph graph)
    {
        var unsupported = GraphPlanner.FindUnsupported(graph);
        return unsupported.Count > 0 ? throw new UnsupportedOperatorException(unsupported) : Optimize(graph);
    }

    /// <summary>Applies every rewrite; the result computes the same function with fewer layers.</summary>
    public static OnnxGraph Optimize(OnnxGraph graph)
    {
        var nodes = graph.Nodes.ToList();
        var initializers = new Dictionary<string, HostTensor>(graph.Initializers, StringComparer.Ordinal);
        FoldBatchNorm(graph, nodes, initializers);
        FoldLinearBias(graph, nodes, initializers);
        FuseActivations(graph, nodes, initializers);
        // Drop initializers no node reads any more (the unfolded weights and the batch-norm statistics).
        var used = nodes.SelectMany(n => n.Inputs).Concat(graph.Outputs.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var name in initializers.Keys.Where(k => !used.Contains(k)).ToList())
        {
            initializers.Remove(name);
        }
        return graph.With(nodes, initializers);
    }

    private static Dictionary<string, int> CountConsumers(OnnxGraph graph, List<GraphNode> nodes)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in nodes.SelectMany(n => n.Inputs).Concat(graph.Outputs.Select(o => o.Name)).Where(n => n.Length > 0))
        {
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        return counts;
    }

    private static void FoldBatchNorm(OnnxGraph graph, List<GraphNode> nodes, Dictionary<string, HostTensor> initializers)
    {
        var consumers = CountConsumers(graph, nodes);
        var producers = nodes.Where(n => n.Outputs.Length > 0).ToDictionary(n => n.Outputs[0], StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            var bn = nodes[i];
            if (bn.OpType != "BatchNormalization" || bn.Inputs.Length < 5 || bn.Outputs.Skip(1).Any(o => o.Length > 0)
                || !producers.TryGetValue(bn.Inputs[0], out var conv) || conv.OpType != "Conv" || consumers.GetValueOrDefault(conv.Outputs[0]) != 1
                || !initializers.TryGetValue(conv.Inputs[1], out var weight) || weight.IsInteger
                || bn.Inputs.Skip(1).Take(4).Any(n => !initializers.ContainsKey(n)))
            {
                continue;
            }
            var hasBias = conv.Inputs.Length > 2 && conv.Inputs[2].Length > 0;
            if (hasBias && !initializers.ContainsKey(conv.Inputs[2]))
            {
                continue;
            }
            var channels = weight.Shape[0];
            var gamma = initializers[bn.Inputs[1]].ToFloats();
            var beta = initializers[bn.Inputs[2]].ToFloats();
            var mean = initializers[bn.Inputs[3]].ToFloats();
            var variance = initializers[bn.Inputs[4]].ToFloats();
            if (new[] { gamma, beta, mean, variance }.Any(v => v.Length != channels))
            {
                continue;
            }
            var epsilon = bn.Attributes.Float("epsilon", 1e-5f);
            var bias = hasBias ? initializers[conv.Inputs[2]].ToFloats() : new float[channels];
            var folded = (float[])weight.Floats!.Clone();
            var foldedBias = new float[channels];
            var perChannel = folded.Length / channels;
            for (var c = 0; c < channels; c++)
            {
                var scale = gamma[c] / Math.Sqrt(variance[c] + epsilon);
                for (var k = 0; k < perChannel; k++)
                {
                    folded[c * perChannel + k] = (float)(folded[c * perChannel + k] * scale);
                }
                foldedBias[c] = (float)((bias[c] - mean[c]) * scale + beta[c]);
            }
            var weightName = $"{conv.Name}.folded_weight";
            var biasName = $"{conv.Name}.folded_bias";
            initializers[weightName] = HostTensor.OfFloats(weight.Shape, folded);
            initializers[biasName] = HostTensor.OfFloats([channels], foldedBias);
            var index = nodes.IndexOf(conv);
            nodes[index] = conv with { Inputs = [conv.Inputs[0], weightName, biasName], Outputs = [bn.Outputs[0]] };
            producers[bn.Outputs[0]] = nodes[index];
            nodes.RemoveAt(i--);
        }
    }

    private static void FoldLinearBias(OnnxGraph graph, List<GraphNode> nodes, Dictionary<string, HostTensor> initializers)
    {
        var consumers = CountConsumers(graph, nodes);
        var producers = nodes.Where(n => n.Outputs.Length > 0).ToDictionary(n => n.Outputs[0], StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            var add = nodes[i];
            if (add.OpType != "Add" || add.Inputs.Length != 2)
            {
                continue;
            }
            // The bias may be either operand.
            var (matMulOutput, biasName) = producers.TryGetValue(add.Inputs[0], out var p0) && p0.OpType == "MatMul" ? (add.Inputs[0], add.Inputs[1]) : (add.Inputs[1], add.Inputs[0]);
            if (!producers.TryGetValue(matMulOutput, out var matMul) || matMul.OpType != "MatMul" || matMul.Inputs.Length != 2
                || consumers.GetValueOrDefault(matMulOutput) != 1
                || !initializers.TryGetValue(matMul.Inputs[1], out var weight) || weight.Shape.Length != 2
                || !initializers.TryGetValue(biasName, out var bias) || bias.IsInteger || bias.Shape.Length != 1 || bias.Shape[0] != weight.Shape[1])
            {
                continue;
            }
            var index = nodes.IndexOf(matMul);
            nodes[index] = matMul with { Inputs = [matMul.Inputs[0], matMul.Inputs[1], biasName], Outputs = [add.Outputs[0]] };
            producers[add.Outputs[0]] = nodes[index];
            nodes.RemoveAt(i--);
        }
    }

    private static void FuseActivations(OnnxGraph graph, List<GraphNode> nodes, Dictionary<string, HostTensor> initializers)
    {
        var consumers = CountConsumers(graph, nodes);
        var producers = nodes.Where(n => n.Outputs.Length > 0).ToDictionary(n => n.Outputs[0], StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            var act = nodes[i];
            if (act.Inputs.Length == 0 || UnaryOperator.AsFusable(act, initializers) is not { } activation
                || !producers.TryGetValue(act.Inputs[0], out var producer) || producer.OpType is not ("Conv" or "Gemm" or "MatMul" or "Add")
                || !producer.Activation.IsNone || consumers.GetValueOrDefault(producer.Outputs[0]) != 1)
            {
                continue;
            }
            var index = nodes.IndexOf(producer);
            nodes[index] = producer with { Outputs = [act.Outputs[0]], Activation = activation };
            producers[act.Outputs[0]] = nodes[index];
            nodes.RemoveAt(i--);
        }
    }
}
