namespace OrleansServe.Engine.UnitTests.Planning;

public sealed class ModelCostTests
{
    [Fact]
    public void A_plannable_model_costs_its_layers_flops_and_bytes_at_batch_1()
    {
        var onnx = SampleZoo.Build("mlp");
        var plan = GraphPlanner.PlanForBatch(GraphRewrites.Optimize(OnnxGraph.Read(onnx)), 1);

        var cost = ModelCost.TryMeasure(onnx);

        Assert.NotNull(cost);
        Assert.Equal(plan.Flops, cost.FlopsPerItem);
        Assert.True(cost.FlopsPerItem > 0);
        Assert.Equal(plan.Layers.Sum(l => l.WeightBytes), cost.WeightBytes);
        Assert.True(cost.WeightBytes > 0 && cost.ActivationBytesPerItem > 0 && cost.WorkspaceBytesBatch1 > 0);
        Assert.Equal(plan.Layers.Count, cost.Layers);
    }

    [Fact]
    public void A_model_the_engine_cannot_plan_has_no_cost()
    {
        var graph = new OnnxGraphBuilder("unrunnable");
        graph.AddInput("x", ElementType.Fp32, "batch", 3);
        graph.AddNode("NoSuchOperator", ["x"], ["y"]);
        graph.AddOutput("y", ElementType.Fp32, "batch", 3);

        Assert.Null(ModelCost.TryMeasure(graph.ToBytes()));
        Assert.Null(ModelCost.TryMeasure([0x08, 0x07, 0x12, 0xff, 0x01]));
    }
}
