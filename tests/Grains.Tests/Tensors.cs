using System.Runtime.InteropServices;

namespace OrleansServe.Grains.Tests;

/// <summary>Builds and reads wire tensors in tests.</summary>
public static class Tensors
{
    public static Tensor Fp32(string name, long[] shape, params float[] values) =>
        new(name, ElementType.Fp32, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static float[] ReadFp32(Tensor tensor) => MemoryMarshal.Cast<byte, float>(tensor.Data).ToArray();

    public static InferenceRequest Request(params Tensor[] inputs) => new("req", inputs);
}
