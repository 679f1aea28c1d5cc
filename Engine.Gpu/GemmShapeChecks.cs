namespace OrleansServe.Engine.Gpu;

/// <summary>Checks a <see cref="GemmShape"/> against the views it runs on, before anything reaches the device.</summary>
public static class GemmShapeChecks
{
    /// <summary>
    /// The elements each operand must hold: the last batch's offset plus one packed matrix (A is M×K, B is K×N,
    /// C is M×N, however stored). Zero for an empty matrix.
    /// </summary>
    public static (long A, long B, long C) RequiredLengths(this GemmShape shape)
    {
        static long Span(long rows, long columns, int batch, long stride) =>
            rows * columns == 0 ? 0 : (batch - 1) * stride + rows * columns;

        return (Span(shape.M, shape.K, shape.Batch, shape.StrideA),
                Span(shape.K, shape.N, shape.Batch, shape.StrideB),
                Span(shape.M, shape.N, shape.Batch, shape.StrideC));
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when the shape is malformed or a view is too short for it: a kernel
    /// would read or write past the buffer instead of failing. Strides of A and B may be 0 (one matrix shared by
    /// the batch); C's stride must keep the batch's outputs apart.
    /// </summary>
    public static void Validate(this GemmShape shape, long aLength, long bLength, long cLength)
    {
        if (shape.M < 0 || shape.N < 0 || shape.K < 0)
        {
            throw new ArgumentException($"GEMM sizes must not be negative: M={shape.M}, N={shape.N}, K={shape.K}", nameof(shape));
        }
        if (shape.Batch < 1)
        {
            throw new ArgumentException($"GEMM batch must be at least 1, not {shape.Batch}", nameof(shape));
        }
        if (shape.Batch > 1)
        {
            if (shape.StrideA < 0 || shape.StrideB < 0)
            {
                throw new ArgumentException($"GEMM strides must not be negative: StrideA={shape.StrideA}, StrideB={shape.StrideB}", nameof(shape));
            }
            if (shape.StrideC < (long)shape.M * shape.N)
            {
                throw new ArgumentException(
                    $"StrideC={shape.StrideC} makes the {shape.Batch} outputs of {shape.M}×{shape.N} overlap", nameof(shape));
            }
        }

        var (a, b, c) = shape.RequiredLengths();
        if (aLength < a || bLength < b || cLength < c)
        {
            throw new ArgumentException(
                $"GEMM {shape.M}×{shape.N}×{shape.K} batch {shape.Batch} needs A={a}, B={b}, C={c} elements; " +
                $"the views hold A={aLength}, B={bLength}, C={cLength}");
        }
    }
}
