using static OrleansServe.Onnx.OnnxAttribute;

namespace OrleansServe.Engine.UnitTests.Planning;

public sealed class GraphPlannerTests
{
    [Fact]
    public void Lists_every_unsupported_operator_at_once_with_its_node()
    {
        var graph = new OnnxGraphBuilder("exotic");
        graph.AddInput("x", ElementType.Fp32, 1, 4);
        var a = graph.AddNode("TopK", ["x"]);
        var b = graph.AddNode("Relu", [a]);
        graph.AddNode("NonMaxSuppression", [b], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 1, 4);
        var parsed = OnnxGraph.Read(graph.ToBytes());

        var error = Assert.Throws<UnsupportedOperatorException>(() => GraphPlanner.PlanForBatch(parsed, 1));

        Assert.Equal(["TopK", "NonMaxSuppression"], error.Nodes.Select(n => n.OpType));
        Assert.Contains("node 'TopK_0' uses TopK", error.Message);
        Assert.Contains("NonMaxSuppression", error.Message);
    }

    [Fact]
    public void A_shape_error_names_the_node_and_the_shapes()
    {
        var graph = new OnnxGraphBuilder("bad");
        graph.AddInput("x", ElementType.Fp32, 2, 3);
        graph.AddNode("MatMul", ["x", graph.AddInitializer("w", [4, 5], new float[20])], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 2, 5);

        var error = Assert.Throws<ModelPlanException>(() => GraphPlanner.PlanForBatch(OnnxGraph.Read(graph.ToBytes()), 1));

        Assert.Contains("node 'MatMul_0' (MatMul)", error.Message);
        Assert.Contains("[2,3] × [4,5]", error.Message);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 1, 2, 3, 4, 5 })]
    public void Garbage_is_refused_with_a_model_error(byte[] bytes) =>
        Assert.Throws<ModelPlanException>(() => OnnxGraph.Read(bytes));

    [Fact]
    public void Inputs_that_contradict_the_declared_shape_are_refused()
    {
        var parsed = OnnxGraph.Read(SampleZoo.Build("lenet5"));
        var error = Assert.Throws<ModelPlanException>(() => GraphPlanner.Plan(parsed, new Dictionary<string, int[]> { ["input"] = [1, 1, 32, 32] }));
        Assert.Contains("dimension 2 is 28", error.Message);
    }

    [Fact]
    public void Workspace_reuses_dead_buffers_and_never_overlaps_a_step_output_with_its_live_inputs()
    {
        var plan = GraphPlanner.PlanForBatch(GraphRewrites.Optimize(OnnxGraph.Read(SampleZoo.Build("resnet_small"))), 4);

        Assert.True(plan.WorkspaceBytes < plan.UnplannedActivationBytes / 2, $"workspace {plan.WorkspaceBytes} vs unplanned {plan.UnplannedActivationBytes}");
        foreach (var step in plan.Steps)
        {
            foreach (var output in step.Outputs)
            {
                foreach (var input in step.Inputs.Where(i => i is not null && i.Root.Constant is null))
                {
                    var root = input!.Root;
                    var disjoint = output.Offset + output.Elements <= root.Offset || root.Offset + root.Elements <= output.Offset;
                    Assert.True(disjoint, $"{step.Node.Name}: output {output.Name} overlaps input {root.Name}");
                }
            }
        }
    }

    [Fact]
    public void Layers_report_flops_and_bytes_that_scale_with_the_batch()
    {
        var graph = GraphRewrites.Optimize(OnnxGraph.Read(SampleZoo.Build("lenet5")));
        var one = GraphPlanner.PlanForBatch(graph, 1);
        var eight = GraphPlanner.PlanForBatch(graph, 8);

        var conv1 = one.Layers.First(l => l.OpType == "Conv");
        // 6 filters of 1×5×5 over a padded 28×28 image, a multiply-add counted as two.
        Assert.Equal(2L * 6 * 28 * 28 * 25, conv1.Flops);
        Assert.Equal((6 * 25 + 6) * sizeof(float), conv1.WeightBytes);
        Assert.Equal(6 * 28 * 28 * sizeof(float), conv1.ActivationBytes);
        Assert.Equal(8 * one.Flops, eight.Flops);
        Assert.Equal(one.Layers.Sum(l => l.WeightBytes), eight.Layers.Sum(l => l.WeightBytes));
    }

    [Fact]
    public void Batch_norm_folding_and_activation_fusion_remove_layers()
    {
        var raw = OnnxGraph.Read(SampleZoo.Build("resnet_small"));
        var optimized = GraphRewrites.Optimize(raw);

        Assert.DoesNotContain(optimized.Nodes, n => n.OpType == "BatchNormalization");
        Assert.True(optimized.Nodes.Count < raw.Nodes.Count - 10);
        Assert.Contains(optimized.Nodes, n => n.OpType == "Conv" && !n.Activation.IsNone);
        Assert.True(optimized.ParameterCount < raw.ParameterCount);
    }

    [Fact]
    public void Linear_layer_bias_and_residual_relu_are_fused()
    {
        var bert = GraphRewrites.Optimize(OnnxGraph.Read(ModelZoo.Build("bert_base_tiny")));
        var producers = bert.Nodes.ToDictionary(n => n.Outputs[0]);
        Assert.Contains(bert.Nodes, n => n.OpType == "MatMul" && n.Inputs.Length == 3);
        Assert.DoesNotContain(bert.Nodes, n => n.OpType == "Add" && n.Inputs.Any(i => producers.TryGetValue(i, out var p) && p.OpType == "MatMul" && bert.Initializers.ContainsKey(p.Inputs[1])) && n.Inputs.Any(bert.Initializers.ContainsKey));

        var resnet = GraphRewrites.Optimize(OnnxGraph.Read(ModelZoo.Build("resnet50_tiny")));
        Assert.DoesNotContain(resnet.Nodes, n => n.OpType == "Relu");
        Assert.Contains(resnet.Nodes, n => n.OpType == "Add" && n.Activation.Op == global::OrleansServe.Onnx.ActivationOp.Relu);
    }

    [Fact]
    public void A_relu_fused_into_an_add_of_constants_is_applied_when_folding()
    {
        var graph = new OnnxGraphBuilder("constant_add");
        graph.AddInput("x", ElementType.Fp32, 3);
        var sum = graph.AddNode("Add", [graph.AddInitializer("a", [3], [1f, -5f, 2f]), graph.AddInitializer("b", [3], [1f, 1f, -3f])]);
        graph.AddNode("Add", ["x", graph.AddNode("Relu", [sum])], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 3);
        var plan = GraphPlanner.PlanForBatch(GraphRewrites.Optimize(OnnxGraph.Read(graph.ToBytes())), 1);

        var folded = plan.Steps.Single().Inputs[1]!.Constant!;

        Assert.Equal([2f, 0f, 0f], folded.ToFloats());
    }

    [Fact]
    public void A_relu_whose_input_has_other_readers_is_not_fused()
    {
        var graph = new OnnxGraphBuilder("shared");
        graph.AddInput("x", ElementType.Fp32, 1, 2, 4, 4);
        var conv = graph.AddNode("Conv", ["x", graph.AddInitializer("w", [2, 2, 1, 1], new float[4])], Ints("kernel_shape", 1, 1));
        var relu = graph.AddNode("Relu", [conv]);
        graph.AddNode("Add", [conv, relu], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, 1, 2, 4, 4);

        var optimized = GraphRewrites.Optimize(OnnxGraph.Read(graph.ToBytes()));

        Assert.Equal(["Conv", "Relu", "Add"], optimized.Nodes.Select(n => n.OpType));
    }
}
