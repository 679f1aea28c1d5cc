using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning;

/// <summary>
/// What one item of a model costs by the engine's graph analysis at batch 1: the inputs of the scheduler's roofline
/// estimate and interference features (the same quantities as bench/profiles/zoo-features.csv).
/// </summary>
/// <param name="FlopsPerItem">Floating-point operations of one item (a multiply-add counts as two).</param>
/// <param name="WeightBytes">Bytes of the weights the layers read.</param>
/// <param name="ActivationBytesPerItem">Bytes the layers write for one item, summed over layers.</param>
/// <param name="WorkspaceBytesBatch1">The planned activation workspace at batch 1.</param>
/// <param name="Layers">Layers that do device work after the engine's rewrites.</param>
public sealed record ModelCost(long FlopsPerItem, long WeightBytes, long ActivationBytesPerItem, long WorkspaceBytesBatch1, int Layers)
{
    /// <summary>
    /// The cost of a model file, or null when the engine cannot plan it (an operator it does not implement, a dynamic
    /// dimension other than the batch, a malformed graph): such a model simply has no features.
    /// </summary>
    public static ModelCost? TryMeasure(ReadOnlySpan<byte> onnxBytes)
    {
        try
        {
            var plan = GraphPlanner.PlanForBatch(GraphRewrites.Optimize(OnnxGraph.Read(onnxBytes)), 1);
            return new ModelCost(
                plan.Flops, plan.Layers.Sum(l => l.WeightBytes), plan.Layers.Sum(l => l.ActivationBytes), plan.WorkspaceBytes, plan.Layers.Count);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Only a feature of the scheduler's: a graph the analysis cannot take must never fail a load.
            return null;
        }
    }
}
