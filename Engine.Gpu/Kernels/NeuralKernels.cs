using ILGPU;
using ILGPU.Algorithms;

namespace OrleansServe.Engine.Gpu.Kernels;

/// <summary>Convolution, pooling, normalization, reduction and indexing kernels (grid-stride, NCHW, fp32).</summary>
internal static class NeuralKernels
{
    /// <summary>Largest thread group the row kernels are launched with (their shared memory holds one float per thread).</summary>
    public const int MaxRowGroup = 256;

    /// <summary>
    /// Sum (or, with <paramref name="max"/>, maximum) over a thread group by a tree in shared memory; every thread
    /// gets the result. The group size must be a power of two, and every thread of the group must call it (it waits
    /// at barriers).
    /// </summary>
    private static float GroupReduce(ArrayView<float> shared, float value, bool max)
    {
        var tid = Group.IdxX;
        shared[tid] = value;
        Group.Barrier();
        for (var stride = Group.DimX / 2; stride > 0; stride /= 2)
        {
            if (tid < stride)
            {
                shared[tid] = max ? XMath.Max(shared[tid], shared[tid + stride]) : shared[tid] + shared[tid + stride];
            }
            Group.Barrier();
        }
        var result = shared[0];
        Group.Barrier();
        return result;
    }

    private static float GroupSum(ArrayView<float> shared, float value) => GroupReduce(shared, value, max: false);

    private static float GroupMax(ArrayView<float> shared, float value) => GroupReduce(shared, value, max: true);

    /// <summary>Layer normalization with one thread group per row: coalesced reads and tree reductions (rows of BERT's 768 floats).</summary>
    public static void LayerNormRows(ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, ArrayView<float> bias, int cols, float epsilon, int rows)
    {
        var shared = SharedMemory.Allocate<float>(MaxRowGroup);
        var hasBias = bias.Length > 0;
        for (var row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            var start = (long)row * cols;
            var sum = 0f;
            for (var k = Group.IdxX; k < cols; k += Group.DimX)
            {
                sum += x[start + k];
            }
            var mean = GroupSum(shared, sum) / cols;
            var squares = 0f;
            for (var k = Group.IdxX; k < cols; k += Group.DimX)
            {
                var d = x[start + k] - mean;
                squares += d * d;
            }
            var inv = 1f / XMath.Sqrt(GroupSum(shared, squares) / cols + epsilon);
            for (var k = Group.IdxX; k < cols; k += Group.DimX)
            {
                var v = (x[start + k] - mean) * inv * scale[k];
                y[start + k] = hasBias ? v + bias[k] : v;
            }
        }
    }

    /// <summary>Softmax over contiguous rows (the last axis) with one thread group per row.</summary>
    public static void SoftmaxRows(ArrayView<float> x, ArrayView<float> y, int cols, int rows)
    {
        var shared = SharedMemory.Allocate<float>(MaxRowGroup);
        for (var row = Grid.IdxX; row < rows; row += Grid.DimX)
        {
            var start = (long)row * cols;
            var max = float.NegativeInfinity;
            for (var k = Group.IdxX; k < cols; k += Group.DimX)
            {
                max = XMath.Max(max, x[start + k]);
            }
            max = GroupMax(shared, max);
            var sum = 0f;
            for (var k = Group.IdxX; k < cols; k += Group.DimX)
            {
                var e = XMath.Exp(x[start + k] - max);
                y[start + k] = e;
                sum += e;
            }
            var scale = 1f / GroupSum(shared, sum);
            for (var k = Group.IdxX; k < cols; k += Group.DimX)
            {
                y[start + k] *= scale;
            }
        }
    }

    /// <summary>
    /// Unfolds image windows into GEMM columns for a range of images and one group of channels:
    /// col[image][(c·KH + kh)·KW + kw][oh·OW + ow]. Zero where the window reads padding.
    /// </summary>
    public static void Im2Col(ArrayView<float> x, ArrayView<float> col, WindowGeometry g, int channelOffset, int groupChannels, int n)
    {
        var stride = Grid.DimX * Group.DimX;
        var spatial = g.OutHeight * g.OutWidth;
        var rows = groupChannels * g.KernelHeight * g.KernelWidth;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            var p = i % spatial;
            var row = i / spatial % rows;
            var image = i / (spatial * rows);
            var kw = row % g.KernelWidth;
            var kh = row / g.KernelWidth % g.KernelHeight;
            var c = row / (g.KernelWidth * g.KernelHeight);
            var ow = p % g.OutWidth;
            var oh = p / g.OutWidth;
            var ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
            var iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
            var value = 0f;
            if (ih >= 0 && ih < g.Height && iw >= 0 && iw < g.Width)
            {
                value = x[((image * g.Channels + channelOffset + c) * g.Height + ih) * g.Width + iw];
            }
            col[i] = value;
        }
    }

    /// <summary>Direct depthwise convolution (one filter per channel, channel multiplier 1) with a fused bias and activation.</summary>
    public static void DepthwiseConv(ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> y, WindowGeometry g, int n, UnaryOp act, float p0, float p1)
    {
        var stride = Grid.DimX * Group.DimX;
        var hasBias = bias.Length > 0;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            var ow = i % g.OutWidth;
            var oh = i / g.OutWidth % g.OutHeight;
            var c = i / (g.OutWidth * g.OutHeight) % g.Channels;
            var image = i / (g.OutWidth * g.OutHeight * g.Channels);
            var sum = hasBias ? bias[c] : 0f;
            var plane = (image * g.Channels + c) * g.Height;
            for (var kh = 0; kh < g.KernelHeight; kh++)
            {
                var ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
                if (ih < 0 || ih >= g.Height)
                {
                    continue;
                }
                for (var kw = 0; kw < g.KernelWidth; kw++)
                {
                    var iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                    if (iw >= 0 && iw < g.Width)
                    {
                        sum += x[(plane + ih) * g.Width + iw] * w[(c * g.KernelHeight + kh) * g.KernelWidth + kw];
                    }
                }
            }
            y[i] = ElementwiseKernels.Apply(act, sum, p0, p1);
        }
    }

    /// <summary>Max or average pooling over 2-D windows; padding never wins a max and counts toward an average only when asked.</summary>
    public static void Pool(ArrayView<float> x, ArrayView<float> y, WindowGeometry g, int n, int isMax, int countIncludePad)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            var ow = i % g.OutWidth;
            var oh = i / g.OutWidth % g.OutHeight;
            var plane = i / (g.OutWidth * g.OutHeight);
            var best = float.NegativeInfinity;
            var sum = 0f;
            var count = 0;
            var padded = 0;
            for (var kh = 0; kh < g.KernelHeight; kh++)
            {
                var ih = oh * g.StrideHeight - g.PadTop + kh * g.DilationHeight;
                for (var kw = 0; kw < g.KernelWidth; kw++)
                {
                    var iw = ow * g.StrideWidth - g.PadLeft + kw * g.DilationWidth;
                    if (ih >= 0 && ih < g.Height && iw >= 0 && iw < g.Width)
                    {
                        var v = x[(plane * g.Height + ih) * g.Width + iw];
                        best = XMath.Max(best, v);
                        sum += v;
                        count++;
                    }
                    else if (ih < g.Height + g.PadTop && iw < g.Width + g.PadLeft)
                    {
                        // Inside the declared padding (not beyond it, where ceil_mode windows overhang).
                        padded++;
                    }
                }
            }
            y[i] = isMax != 0 ? best : sum / (countIncludePad != 0 ? count + padded : XMath.Max(count, 1));
        }
    }

    /// <summary>Mean of each contiguous run of <paramref name="inner"/> elements (GlobalAveragePool, ReduceMean over trailing axes).</summary>
    public static void RowMean(ArrayView<float> x, ArrayView<float> y, int inner, int n)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            var sum = 0f;
            var start = (long)i * inner;
            for (var k = 0; k < inner; k++)
            {
                sum += x[start + k];
            }
            y[i] = sum / inner;
        }
    }

    /// <summary>Mean over arbitrary axes: each output element sums the input box <paramref name="reduceShape"/> at its base offset.</summary>
    public static void ReduceMean(ArrayView<float> x, ArrayView<float> y, Shape6 outShape, Shape6 outToInStrides, Shape6 reduceShape, Shape6 reduceStrides, int reduceCount, int n)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            var baseOffset = outToInStrides.Offset(outShape, i);
            var sum = 0f;
            for (var r = 0; r < reduceCount; r++)
            {
                sum += x[baseOffset + reduceStrides.Offset(reduceShape, r)];
            }
            y[i] = sum / reduceCount;
        }
    }

    /// <summary>Softmax along an axis of length <paramref name="axis"/>, viewing the tensor as [outer, axis, inner].</summary>
    public static void Softmax(ArrayView<float> x, ArrayView<float> y, int axis, int inner, int n)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            var o = i / inner;
            var j = i % inner;
            var start = (long)o * axis * inner + j;
            var max = float.NegativeInfinity;
            for (var k = 0; k < axis; k++)
            {
                max = XMath.Max(max, x[start + k * inner]);
            }
            var sum = 0f;
            for (var k = 0; k < axis; k++)
            {
                var e = XMath.Exp(x[start + k * inner] - max);
                y[start + k * inner] = e;
                sum += e;
            }
            var scale = 1f / sum;
            for (var k = 0; k < axis; k++)
            {
                y[start + k * inner] *= scale;
            }
        }
    }

    /// <summary>
    /// Gather along an axis, viewing data as [outer, axis, inner] and the output as [outer, count, inner]; indices are
    /// carried as floats (exact below 2^24), negative ones count from the end, and out-of-range ones are clamped.
    /// </summary>
    public static void Gather(ArrayView<float> data, ArrayView<float> indices, ArrayView<float> y, int axis, int count, int inner, int n)
    {
        var stride = Grid.DimX * Group.DimX;
        for (var i = Grid.GlobalIndex.X; i < n; i += stride)
        {
            var j = i % inner;
            var k = i / inner % count;
            var o = i / (inner * count);
            var index = (int)indices[k];
            if (index < 0)
            {
                index += axis;
            }
            index = XMath.Clamp(index, 0, axis - 1);
            y[i] = data[((long)o * axis + index) * inner + j];
        }
    }

    /// <summary>
    /// The fallback GEMM: each thread computes a 4×4 tile of C in registers (row-major, strided batched), so
    /// the CPU accelerator and GPUs without cuBLAS run the same code with 16 outputs per thread.
    /// </summary>
    public static void TiledGemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, GemmArgs g, int tiles)
    {
        var stride = Grid.DimX * Group.DimX;
        var tileCols = (g.N + 3) / 4;
        var tileRows = (g.M + 3) / 4;
        for (var t = Grid.GlobalIndex.X; t < tiles; t += stride)
        {
            var tc = t % tileCols;
            var tr = t / tileCols % tileRows;
            var batch = t / (tileCols * tileRows);
            var aBase = batch * g.StrideA;
            var bBase = batch * g.StrideB;
            var cBase = batch * g.StrideC;
            var row0 = tr * 4;
            var col0 = tc * 4;
            float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
            float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
            for (var k = 0; k < g.K; k++)
            {
                var a0 = LoadA(a, g, aBase, row0, k);
                var a1 = LoadA(a, g, aBase, row0 + 1, k);
                var a2 = LoadA(a, g, aBase, row0 + 2, k);
                var a3 = LoadA(a, g, aBase, row0 + 3, k);
                var b0 = LoadB(b, g, bBase, k, col0);
                var b1 = LoadB(b, g, bBase, k, col0 + 1);
                var b2 = LoadB(b, g, bBase, k, col0 + 2);
                var b3 = LoadB(b, g, bBase, k, col0 + 3);
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            Store(c, g, cBase, row0, col0, c00, c01, c02, c03);
            Store(c, g, cBase, row0 + 1, col0, c10, c11, c12, c13);
            Store(c, g, cBase, row0 + 2, col0, c20, c21, c22, c23);
            Store(c, g, cBase, row0 + 3, col0, c30, c31, c32, c33);
        }
    }

    private static float LoadA(ArrayView<float> a, GemmArgs g, long baseOffset, int row, int k) =>
        row >= g.M ? 0f : a[baseOffset + (g.TransA != 0 ? (long)k * g.Lda + row : (long)row * g.Lda + k)];

    private static float LoadB(ArrayView<float> b, GemmArgs g, long baseOffset, int k, int col) =>
        col >= g.N ? 0f : b[baseOffset + (g.TransB != 0 ? (long)col * g.Ldb + k : (long)k * g.Ldb + col)];

    private static void Store(ArrayView<float> c, GemmArgs g, long baseOffset, int row, int col0, float v0, float v1, float v2, float v3)
    {
        if (row >= g.M)
        {
            return;
        }
        var rowOffset = baseOffset + (long)row * g.Ldc + col0;
        StoreOne(c, g, rowOffset, col0, v0);
        StoreOne(c, g, rowOffset + 1, col0 + 1, v1);
        StoreOne(c, g, rowOffset + 2, col0 + 2, v2);
        StoreOne(c, g, rowOffset + 3, col0 + 3, v3);
    }

    private static void StoreOne(ArrayView<float> c, GemmArgs g, long offset, int col, float value)
    {
        if (col < g.N)
        {
            // beta = 0 must not read C: the workspace may hold NaN from an earlier value.
            c[offset] = g.Beta == 0f ? g.Alpha * value : g.Alpha * value + g.Beta * c[offset];
        }
    }
}
