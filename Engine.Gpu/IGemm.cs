using ILGPU;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// The shape of a row-major single-precision GEMM, C = alpha·op(A)·op(B) + beta·C, repeated
/// <see cref="Batch"/> times at the given element strides (strided-batched GEMM).
/// op(A) is M×K and op(B) is K×N; A is stored K×M when <see cref="TransA"/> and B N×K when <see cref="TransB"/>.
/// </summary>
public readonly record struct GemmShape(
    int M,
    int N,
    int K,
    bool TransA = false,
    bool TransB = false,
    float Alpha = 1f,
    float Beta = 0f,
    int Batch = 1,
    long StrideA = 0,
    long StrideB = 0,
    long StrideC = 0)
{
    /// <summary>Leading dimension of A as stored (row-major).</summary>
    public int Lda => TransA ? M : K;

    /// <summary>Leading dimension of B as stored (row-major).</summary>
    public int Ldb => TransB ? K : N;

    /// <summary>Leading dimension of C (row-major).</summary>
    public int Ldc => N;

    /// <summary>Multiply-adds × 2 over the whole batch.</summary>
    public long Flops => 2L * M * N * K * Batch;
}

/// <summary>
/// A GEMM implementation bound to one accelerator and its stream: cuBLAS on CUDA, an ILGPU tiled
/// kernel elsewhere. Calls are asynchronous on that stream and must come from the accelerator's device thread.
/// </summary>
public interface IGemm : IDisposable
{
    /// <summary>What runs, for logs and benchmark records (e.g. "cublas 13.0 (libcublas.so.13)" or "ilgpu-tiled").</summary>
    string Name { get; }

    /// <summary>Enqueues C = alpha·op(A)·op(B) + beta·C on the stream; views start at the first element of the first batch.</summary>
    void Run(in GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c);
}
