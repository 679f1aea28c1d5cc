namespace OrleansServe.Engine.Gpu.Kernels;

/// <summary>Up to six dimensions (or strides) passed to a kernel by value; unused trailing entries are 1 (or 0).</summary>
public struct Shape6
{
    public const int MaxRank = 6;

    public int Rank;
    public int D0;
    public int D1;
    public int D2;
    public int D3;
    public int D4;
    public int D5;

    public readonly int this[int index] => index switch
    {
        0 => D0,
        1 => D1,
        2 => D2,
        3 => D3,
        4 => D4,
        _ => D5,
    };

    /// <summary>Packs host values; throws when there are more than six.</summary>
    public static Shape6 Of(ReadOnlySpan<int> values)
    {
        if (values.Length > MaxRank)
        {
            throw new ArgumentException($"rank {values.Length} exceeds the engine's maximum of {MaxRank}");
        }
        Span<int> d = stackalloc int[MaxRank];
        d.Clear();
        values.CopyTo(d);
        return new Shape6 { Rank = values.Length, D0 = d[0], D1 = d[1], D2 = d[2], D3 = d[3], D4 = d[4], D5 = d[5] };
    }

    /// <summary>Offset of the element with row-major linear index <paramref name="linear"/> within <paramref name="shape"/>, given these strides.</summary>
    public readonly int Offset(Shape6 shape, int linear)
    {
        var offset = 0;
        for (var d = shape.Rank - 1; d >= 0; d--)
        {
            var size = shape[d];
            var coordinate = linear % size;
            linear /= size;
            offset += coordinate * this[d];
        }
        return offset;
    }
}

/// <summary>Geometry of a 2-D convolution or pooling window over NCHW data.</summary>
public struct WindowGeometry
{
    public int Images;
    public int Channels;
    public int Height;
    public int Width;
    public int OutHeight;
    public int OutWidth;
    public int KernelHeight;
    public int KernelWidth;
    public int StrideHeight;
    public int StrideWidth;
    public int PadTop;
    public int PadLeft;
    public int DilationHeight;
    public int DilationWidth;
}

/// <summary>Arguments of a row-major strided-batched GEMM kernel.</summary>
public struct GemmArgs
{
    public int M;
    public int N;
    public int K;
    public int Lda;
    public int Ldb;
    public int Ldc;
    public int TransA;
    public int TransB;
    public float Alpha;
    public float Beta;
    public int Batch;
    public long StrideA;
    public long StrideB;
    public long StrideC;
}
