using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.Gpu.Kernels;

namespace OrleansServe.Engine.Gpu;

/// <summary>The fallback GEMM: the engine's own register-tiled ILGPU kernel, used where cuBLAS is not available.</summary>
internal sealed class IlgpuGemm(GpuDevice device) : IGemm
{
    public string Name => "ilgpu-tiled";

    public void Run(in GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c)
    {
        var args = new GemmArgs
        {
            M = shape.M,
            N = shape.N,
            K = shape.K,
            Lda = shape.Lda,
            Ldb = shape.Ldb,
            Ldc = shape.Ldc,
            TransA = shape.TransA ? 1 : 0,
            TransB = shape.TransB ? 1 : 0,
            Alpha = shape.Alpha,
            Beta = shape.Beta,
            Batch = shape.Batch,
            StrideA = shape.StrideA,
            StrideB = shape.StrideB,
            StrideC = shape.StrideC,
        };
        var tiles = checked((int)((long)((shape.M + 3) / 4) * ((shape.N + 3) / 4) * shape.Batch));
        device.Kernels.TiledGemm(device.Stream, device.Launch(tiles), a, b, c, args, tiles);
    }

    public void Dispose()
    {
    }
}
