using System.Runtime.InteropServices;

namespace OrleansServe.Engine.UnitTests.Planning;

/// <summary>Every tiny zoo model end to end on the ILGPU CPU accelerator against ONNX Runtime (max error ≤ 1e-4 × output scale).</summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class TinyZooParityTests(IlgpuCpuDevice device)
{
    public static TheoryData<string> TinyModels => [.. ModelZoo.TinyNames];

    [Theory]
    [MemberData(nameof(TinyModels))]
    public void Tiny_model_matches_onnx_runtime_at_batch_1_and_3(string model)
    {
        var bytes = ModelZoo.Build(model);
        var graph = OnnxGraph.Read(bytes);
        foreach (var batch in new[] { 1, 3 })
        {
            EngineParity.AssertMatches(device.Worker, bytes, Inputs(graph, batch));
        }
    }

    /// <summary>Floats in [-1, 1); token ids below the tiny vocabulary; masks with some positions masked out.</summary>
    private static NamedTensor[] Inputs(OnnxGraph graph, int batch)
    {
        var random = new Random(batch * 7919);
        return [.. graph.Inputs.Select(input =>
        {
            long[] shape = [.. input.Shape.Select((d, i) => (long)(d ?? batch))];
            var count = (int)shape.Aggregate(1L, (p, d) => p * d);
            if (input.ElementType == ElementType.Fp32)
            {
                return EngineParity.Fp32(input.Name, EngineParity.Random(batch, count), shape);
            }
            var isMask = input.Name.Contains("mask", StringComparison.OrdinalIgnoreCase);
            var values = Enumerable.Range(0, count).Select(i => isMask ? (i % 5 == 4 ? 0L : 1L) : random.NextInt64(0, 100)).ToArray();
            return new NamedTensor(input.Name, input.ElementType, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        })];
    }
}
