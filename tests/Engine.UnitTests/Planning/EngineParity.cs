using System.Runtime.InteropServices;

namespace OrleansServe.Engine.UnitTests.Planning;

/// <summary>One ILGPU CPU device for all parity tests, so kernels are compiled once per test run.</summary>
public sealed class IlgpuCpuDevice : IDisposable
{
    public DeviceWorker Worker { get; } = DeviceWorker.StartAsync(GpuDeviceKind.IlgpuCpu).GetAwaiter().GetResult();

    public void Dispose() => Worker.Dispose();
}

[CollectionDefinition(Name)]
public sealed class IlgpuCpuCollection : ICollectionFixture<IlgpuCpuDevice>
{
    public const string Name = "ilgpu-cpu";
}

/// <summary>Runs a model in ONNX Runtime and in the engine on the same inputs and compares every output.</summary>
internal static class EngineParity
{
    /// <summary>Seeded uniform values in [low, high).</summary>
    public static float[] Random(int seed, long count, float low = -1f, float high = 1f)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = low + (high - low) * random.NextSingle();
        }
        return values;
    }

    public static NamedTensor Fp32(string name, float[] values, params long[] shape) =>
        new(name, ElementType.Fp32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static NamedTensor Int64(string name, long[] values, params long[] shape) =>
        new(name, ElementType.Int64, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>
    /// Asserts max |engine − ORT| ≤ tolerance × max(1, max |ORT|) for every output, and equal shapes.
    /// Returns the largest relative error seen.
    /// </summary>
    public static double AssertMatches(DeviceWorker worker, byte[] model, IReadOnlyList<NamedTensor> inputs, double tolerance = 1e-4)
    {
        var graph = OnnxGraph.Read(model);
        var outputNames = graph.Outputs.Select(o => o.Name).ToList();
        Dictionary<string, (byte[] Bytes, long[] Shape)> expected;
        using (var ort = new OrtRunner(model))
        {
            var values = inputs.ToDictionary(i => i.Name, i => OrtRunner.TensorFromBytes(i.ElementType, i.Data.ToArray(), i.Shape));
            try
            {
                expected = ort.RunAll(values, outputNames);
            }
            finally
            {
                foreach (var value in values.Values)
                {
                    value.Dispose();
                }
            }
        }
        var actual = worker.Run(device =>
        {
            using var loaded = DeviceModel.Load(device, graph);
            return loaded.Run(inputs);
        });
        double worst = 0;
        foreach (var output in actual)
        {
            var (bytes, shape) = expected[output.Name];
            Assert.Equal(shape, output.Shape);
            var want = ToDoubles(output.ElementType, bytes);
            var got = ToDoubles(output.ElementType, output.Data.ToArray());
            Assert.Equal(want.Length, got.Length);
            var scale = Math.Max(1.0, want.Select(Math.Abs).DefaultIfEmpty(0).Max());
            for (var i = 0; i < want.Length; i++)
            {
                var error = Math.Abs(want[i] - got[i]) / scale;
                Assert.False(double.IsNaN(got[i]) && !double.IsNaN(want[i]), $"{output.Name}[{i}] is NaN, expected {want[i]}");
                Assert.True(error <= tolerance, $"{output.Name}[{i}]: engine {got[i]}, ONNX Runtime {want[i]} (relative error {error:E2} > {tolerance:E0})");
                worst = Math.Max(worst, error);
            }
        }
        return worst;
    }

    private static double[] ToDoubles(ElementType type, byte[] bytes) => type switch
    {
        ElementType.Fp32 => [.. MemoryMarshal.Cast<byte, float>(bytes).ToArray().Select(v => (double)v)],
        ElementType.Int64 => [.. MemoryMarshal.Cast<byte, long>(bytes).ToArray().Select(v => (double)v)],
        ElementType.Int32 => [.. MemoryMarshal.Cast<byte, int>(bytes).ToArray().Select(v => (double)v)],
        _ => throw new NotSupportedException(type.ToString()),
    };
}
