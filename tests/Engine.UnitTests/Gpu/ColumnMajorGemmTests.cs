namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class ColumnMajorGemmTests
{
    [Fact]
    public void Swaps_operands_and_sizes_for_a_plain_row_major_product()
    {
        var call = ColumnMajorGemm.FromRowMajor(new GemmShape(M: 2, N: 3, K: 4));

        Assert.Equal(CuBlasOperation.None, call.TransA);
        Assert.Equal(CuBlasOperation.None, call.TransB);
        Assert.Equal((3, 2, 4), (call.M, call.N, call.K));
        Assert.Equal(3, call.Lda); // the caller's B, K×N row-major: N apart
        Assert.Equal(4, call.Ldb); // the caller's A, M×K row-major: K apart
        Assert.Equal(3, call.Ldc);
    }

    [Fact]
    public void Transposes_the_operand_whose_row_major_flag_is_set_on_the_other_side()
    {
        var call = ColumnMajorGemm.FromRowMajor(new GemmShape(M: 2, N: 3, K: 4, TransA: true));

        Assert.Equal(CuBlasOperation.None, call.TransA);
        Assert.Equal(CuBlasOperation.Transpose, call.TransB);
        Assert.Equal(2, call.Ldb); // A stored K×M: M apart
    }

    [Fact]
    public void Swaps_strides_with_the_operands()
    {
        var call = ColumnMajorGemm.FromRowMajor(
            new GemmShape(M: 2, N: 3, K: 4, Batch: 5, StrideA: 8, StrideB: 0, StrideC: 6, Alpha: 2f, Beta: 0.5f));

        Assert.Equal((0L, 8L, 6L), (call.StrideA, call.StrideB, call.StrideC));
        Assert.Equal(5, call.Batch);
        Assert.Equal((2f, 0.5f), (call.Alpha, call.Beta));
    }

    [Fact]
    public void Keeps_leading_dimensions_at_least_one_for_an_empty_inner_dimension()
    {
        var call = ColumnMajorGemm.FromRowMajor(new GemmShape(M: 2, N: 3, K: 0, TransB: true));

        Assert.Equal(1, call.Lda);
        Assert.Equal(1, call.Ldb);
    }

    public static TheoryData<int, int, int, bool, bool, int> Shapes => new()
    {
        { 1, 1, 1, false, false, 1 },
        { 3, 5, 7, false, false, 1 },
        { 3, 5, 7, true, false, 1 },
        { 3, 5, 7, false, true, 1 },
        { 3, 5, 7, true, true, 1 },
        { 1, 9, 4, false, true, 3 },
        { 6, 2, 3, true, true, 4 },
        { 4, 4, 1, true, false, 2 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void The_column_major_call_computes_the_row_major_product(int m, int n, int k, bool transA, bool transB, int batch)
    {
        var shape = new GemmShape(m, n, k, transA, transB, Alpha: 1.5f, Beta: 0.25f, Batch: batch,
            StrideA: m * k + 3, StrideB: k * n + 1, StrideC: m * n + 2);
        var (aLength, bLength, cLength) = shape.RequiredLengths();
        var random = new Random(m * 1000 + n * 100 + k * 10 + batch);
        var a = Fill(random, aLength);
        var b = Fill(random, bLength);
        var c = Fill(random, cLength);

        var expected = (float[])c.Clone();
        RowMajorReference(shape, a, b, expected);
        var actual = (float[])c.Clone();
        var call = ColumnMajorGemm.FromRowMajor(shape);
        ColumnMajorBlas(call, first: b, second: a, actual);

        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-4f);
        }
    }

    private static float[] Fill(Random random, long length) =>
        Enumerable.Range(0, (int)length).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();

    // The GemmShape contract, read literally: op(A) is M×K, op(B) is K×N, all row-major and packed.
    private static void RowMajorReference(GemmShape s, float[] a, float[] b, float[] c)
    {
        for (var batch = 0; batch < s.Batch; batch++)
        {
            for (var i = 0; i < s.M; i++)
            {
                for (var j = 0; j < s.N; j++)
                {
                    var sum = 0.0;
                    for (var l = 0; l < s.K; l++)
                    {
                        var av = s.TransA ? a[batch * s.StrideA + l * s.M + i] : a[batch * s.StrideA + i * s.K + l];
                        var bv = s.TransB ? b[batch * s.StrideB + j * s.K + l] : b[batch * s.StrideB + l * s.N + j];
                        sum += av * bv;
                    }
                    var at = batch * s.StrideC + i * s.N + j;
                    c[at] = (float)(s.Alpha * sum + s.Beta * c[at]);
                }
            }
        }
    }

    // BLAS sgemm as cuBLAS defines it: column-major operands, including the argument checks behind
    // CUBLAS_STATUS_INVALID_VALUE, so a mapping cuBLAS would reject fails here too.
    private static void ColumnMajorBlas(ColumnMajorGemm g, float[] first, float[] second, float[] c)
    {
        var rowsA = g.TransA == CuBlasOperation.None ? g.M : g.K;
        var rowsB = g.TransB == CuBlasOperation.None ? g.K : g.N;
        Assert.True(g.Lda >= Math.Max(1, rowsA), $"lda {g.Lda} < {rowsA}");
        Assert.True(g.Ldb >= Math.Max(1, rowsB), $"ldb {g.Ldb} < {rowsB}");
        Assert.True(g.Ldc >= Math.Max(1, g.M), $"ldc {g.Ldc} < {g.M}");

        for (var batch = 0; batch < g.Batch; batch++)
        {
            for (var i = 0; i < g.M; i++)
            {
                for (var j = 0; j < g.N; j++)
                {
                    var sum = 0.0;
                    for (var l = 0; l < g.K; l++)
                    {
                        var av = g.TransA == CuBlasOperation.None
                            ? first[batch * g.StrideA + i + l * g.Lda]
                            : first[batch * g.StrideA + l + i * g.Lda];
                        var bv = g.TransB == CuBlasOperation.None
                            ? second[batch * g.StrideB + l + j * g.Ldb]
                            : second[batch * g.StrideB + j + l * g.Ldb];
                        sum += av * bv;
                    }
                    var at = batch * g.StrideC + i + j * g.Ldc;
                    c[at] = (float)(g.Alpha * sum + g.Beta * c[at]);
                }
            }
        }
    }
}
