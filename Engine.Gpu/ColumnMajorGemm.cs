using OrleansServe.Engine.Gpu.Native;

namespace OrleansServe.Engine.Gpu;

/// <summary>
/// The arguments of the column-major cuBLAS call that computes a row-major <see cref="GemmShape"/>.
/// A row-major matrix read column-major is its transpose, so row-major C = op(A)·op(B) is computed as
/// column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS's first operand is the row-major B, its second the row-major A,
/// and M and N swap. Names below are cuBLAS's: <see cref="TransA"/>, <see cref="Lda"/> and <see cref="StrideA"/>
/// describe the first operand, which is the caller's B.
/// </summary>
public readonly record struct ColumnMajorGemm(
    CuBlasOperation TransA,
    CuBlasOperation TransB,
    int M,
    int N,
    int K,
    int Lda,
    int Ldb,
    int Ldc,
    long StrideA,
    long StrideB,
    long StrideC,
    int Batch,
    float Alpha,
    float Beta)
{
    /// <summary>Maps a row-major shape to the cuBLAS call; pass the caller's B as cuBLAS's A and the caller's A as its B.</summary>
    public static ColumnMajorGemm FromRowMajor(in GemmShape shape) => new(
        TransA: shape.TransB ? CuBlasOperation.Transpose : CuBlasOperation.None,
        TransB: shape.TransA ? CuBlasOperation.Transpose : CuBlasOperation.None,
        M: shape.N,
        N: shape.M,
        K: shape.K,
        // cuBLAS rejects a leading dimension below 1 even when the matrix is empty (K = 0).
        Lda: Math.Max(1, shape.Ldb),
        Ldb: Math.Max(1, shape.Lda),
        Ldc: Math.Max(1, shape.Ldc),
        StrideA: shape.StrideB,
        StrideB: shape.StrideA,
        StrideC: shape.StrideC,
        Batch: shape.Batch,
        Alpha: shape.Alpha,
        Beta: shape.Beta);
}
