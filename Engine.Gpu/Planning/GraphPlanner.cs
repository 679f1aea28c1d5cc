using OrleansServe.Engine.Gpu.Planning.Operators;
using OrleansServe.Onnx;
using OrleansServe.Tensors;

namespace OrleansServe.Engine.Gpu.Planning;

/// <summary>
/// Plans a graph for concrete input shapes: infers every shape, folds what is known at plan time (Shape,
/// constants and arithmetic on them), turns reshape-like operators into aliases, and lays out the activation
/// workspace so a forward pass allocates nothing.
/// </summary>
public static class GraphPlanner
{
    /// <summary>Workspace offsets are multiples of this many floats (256 bytes), which cuBLAS and coalesced loads like.</summary>
    internal const int Alignment = Memory.WeightLayout.AlignmentElements;

    /// <summary>Every node whose operator the engine does not implement (empty when all are supported).</summary>
    public static IReadOnlyList<UnsupportedNode> FindUnsupported(OnnxGraph graph) =>
        [.. graph.Nodes.Where(n => !OperatorRegistry.TryGet(n, out _)).Select(n => new UnsupportedNode(n.Name, n.OpType, n.Domain))];

    /// <summary>Plans the graph with every dynamic dimension of every input set to <paramref name="batch"/>-style defaults: the first dimension is the batch.</summary>
    /// <exception cref="ModelPlanException">An input has a dynamic dimension other than the first.</exception>
    public static ModelPlan PlanForBatch(OnnxGraph graph, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var shapes = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var shape = new int[input.Shape.Length];
            for (var d = 0; d < shape.Length; d++)
            {
                shape[d] = input.Shape[d] ?? (d == 0
                    ? batch
                    : throw new ModelPlanException($"input '{input.Name}' has a dynamic dimension {d}; give its size explicitly"));
            }
            shapes[input.Name] = shape;
        }
        return Plan(graph, shapes);
    }

    /// <summary>Plans the graph for the given input shapes.</summary>
    /// <exception cref="UnsupportedOperatorException">Some nodes use operators the engine does not implement (all are listed).</exception>
    /// <exception cref="ModelPlanException">A shape does not fit the declaration, or a node's inputs or attributes are invalid.</exception>
    public static ModelPlan Plan(OnnxGraph graph, IReadOnlyDictionary<string, int[]> inputShapes)
    {
        var unsupported = FindUnsupported(graph);
        if (unsupported.Count > 0)
        {
            throw new UnsupportedOperatorException(unsupported);
        }

        var values = new Dictionary<string, PlanValue>(StringComparer.Ordinal);
        foreach (var (name, tensor) in graph.Initializers)
        {
            values[name] = new PlanValue(name, tensor.Shape) { Constant = tensor, IsWeight = true };
        }
        var inputs = new List<PlanValue>();
        foreach (var input in graph.Inputs)
        {
            if (!inputShapes.TryGetValue(input.Name, out var shape))
            {
                throw new ModelPlanException($"no shape given for input '{input.Name}'");
            }
            CheckDeclared(input, shape);
            var value = new PlanValue(input.Name, shape) { DeclaredType = input.ElementType };
            values[input.Name] = value;
            inputs.Add(value);
        }

        var steps = new List<PlanNode>();
        foreach (var node in graph.Nodes)
        {
            OperatorRegistry.TryGet(node, out var op);
            var nodeInputs = node.Inputs.Select(name => name.Length == 0 ? null : values[name]).ToArray();
            var nodeOutputs = node.Outputs.Select(name => new PlanValue(name, null!)).ToArray();
            var planNode = new PlanNode(node, op!, nodeInputs, nodeOutputs) { Opset = graph.Opset };
            op!.Infer(planNode);
            foreach (var output in nodeOutputs)
            {
                if (output.Shape is null)
                {
                    throw planNode.Error($"output '{output.Name}' was not produced");
                }
                if (output.Name.Length > 0)
                {
                    values[output.Name] = output;
                }
            }
            if (nodeOutputs.All(o => o.Constant is not null))
            {
                continue;
            }
            if (op.IsAlias)
            {
                foreach (var output in nodeOutputs)
                {
                    output.AliasOf = planNode.Input(0).Root;
                }
                continue;
            }
            steps.Add(planNode);
        }

        var outputs = graph.Outputs.Select(o => values.TryGetValue(o.Name, out var v)
            ? v
            : throw new ModelPlanException($"graph output '{o.Name}' is not produced by any node")).ToList();
        var (workspace, naive) = PlanWorkspace(steps, inputs, outputs);
        return new ModelPlan(
            steps,
            inputs,
            outputs,
            [.. graph.Inputs.Select((i, k) => new PlannedTensor(i.Name, i.ElementType, inputs[k].Shape))],
            [.. graph.Outputs.Select((o, k) => new PlannedTensor(o.Name, o.ElementType, outputs[k].Shape))],
            workspace,
            naive);
    }

    private static void CheckDeclared(GraphValueInfo input, int[] shape)
    {
        if (input.Shape.Length != shape.Length)
        {
            throw new ModelPlanException($"input '{input.Name}' has rank {input.Shape.Length}, but a shape of rank {shape.Length} was given");
        }
        for (var d = 0; d < shape.Length; d++)
        {
            if (shape[d] < 1 || input.Shape[d] is { } fixedSize && fixedSize != shape[d])
            {
                throw new ModelPlanException($"input '{input.Name}' dimension {d} is {input.Shape[d]?.ToString() ?? "dynamic"}, but {shape[d]} was given");
            }
        }
    }

    /// <summary>
    /// Assigns workspace offsets by liveness: a step's outputs and scratch are placed before its dead inputs are
    /// freed (kernels read inputs while they write outputs); freed blocks are reused first-fit and coalesced.
    /// </summary>
    private static (long Workspace, long Naive) PlanWorkspace(List<PlanNode> steps, List<PlanValue> inputs, List<PlanValue> outputs)
    {
        for (var s = 0; s < steps.Count; s++)
        {
            foreach (var input in steps[s].Inputs)
            {
                if (input is not null && input.Root.Constant is null)
                {
                    input.Root.LastUse = s;
                }
            }
        }
        foreach (var output in outputs)
        {
            output.Root.LastUse = int.MaxValue;
        }

        var arena = new Arena();
        long naive = 0;
        foreach (var input in inputs)
        {
            input.Offset = arena.Allocate(input.Elements);
            naive += input.Elements;
            // An input no step reads (and no output returns) still needs a place to be copied to.
            input.LastUse = Math.Max(input.LastUse, 0);
        }
        for (var s = 0; s < steps.Count; s++)
        {
            var step = steps[s];
            foreach (var output in step.Outputs)
            {
                output.Offset = arena.Allocate(output.Elements);
                naive += output.Elements;
                if (output.LastUse < 0)
                {
                    // Written but never read (an unused optional output): free it after the step.
                    output.LastUse = s;
                }
            }
            if (step.ScratchFloats > 0)
            {
                step.ScratchOffset = arena.Allocate(step.ScratchFloats);
                naive += step.ScratchFloats;
                arena.Free(step.ScratchOffset, step.ScratchFloats);
            }
            foreach (var value in step.Inputs.Concat(step.Outputs).Where(v => v is not null && v.Root.Constant is null).Select(v => v!.Root).Distinct())
            {
                if (value.LastUse == s)
                {
                    arena.Free(value.Offset, value.Elements);
                }
            }
        }
        return (arena.Size, naive);
    }

    /// <summary>First-fit allocator over float offsets with coalescing of free blocks.</summary>
    private sealed class Arena
    {
        private readonly List<(long Offset, long Size)> free = [];

        public long Size { get; private set; }

        public long Allocate(long elements)
        {
            var size = Round(elements);
            for (var i = 0; i < free.Count; i++)
            {
                var (offset, blockSize) = free[i];
                if (blockSize >= size)
                {
                    if (blockSize == size)
                    {
                        free.RemoveAt(i);
                    }
                    else
                    {
                        free[i] = (offset + size, blockSize - size);
                    }
                    return offset;
                }
            }
            // Grow the arena, absorbing a free block that ends at the top.
            if (free.Count > 0 && free[^1].Offset + free[^1].Size == Size)
            {
                var (offset, _) = free[^1];
                free.RemoveAt(free.Count - 1);
                Size = offset + size;
                return offset;
            }
            var top = Size;
            Size += size;
            return top;
        }

        public void Free(long offset, long elements)
        {
            var size = Round(elements);
            var index = free.FindIndex(b => b.Offset > offset);
            if (index < 0)
            {
                index = free.Count;
            }
            free.Insert(index, (offset, size));
            // Coalesce with the next block, then with the previous one.
            if (index + 1 < free.Count && free[index].Offset + free[index].Size == free[index + 1].Offset)
            {
                free[index] = (free[index].Offset, free[index].Size + free[index + 1].Size);
                free.RemoveAt(index + 1);
            }
            if (index > 0 && free[index - 1].Offset + free[index - 1].Size == free[index].Offset)
            {
                free[index - 1] = (free[index - 1].Offset, free[index - 1].Size + free[index].Size);
                free.RemoveAt(index);
            }
        }

        private static long Round(long elements) => Math.Max(Alignment, (elements + Alignment - 1) / Alignment * Alignment);
    }
}
