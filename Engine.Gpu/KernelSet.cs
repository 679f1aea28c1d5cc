using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.Gpu.Kernels;

namespace OrleansServe.Engine.Gpu;

/// <summary>The engine's kernels compiled for one accelerator (compiled once, when the device is created).</summary>
internal sealed class KernelSet(Accelerator accelerator)
{
    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, UnaryOp, float, float> Unary =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, UnaryOp, float, float>(ElementwiseKernels.Unary);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, BinaryOp, UnaryOp, float, float> BinarySameShape =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, BinaryOp, UnaryOp, float, float>(ElementwiseKernels.BinarySameShape);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, Shape6, Shape6, Shape6, int, BinaryOp, UnaryOp, float, float> BinaryBroadcast =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, Shape6, Shape6, Shape6, int, BinaryOp, UnaryOp, float, float>(ElementwiseKernels.BinaryBroadcast);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, UnaryOp, float, float> ChannelAffine =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, UnaryOp, float, float>(ElementwiseKernels.ChannelAffine);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, Shape6, Shape6, Shape6, int, int> StridedCopy =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, Shape6, Shape6, Shape6, int, int>(ElementwiseKernels.StridedCopy);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, float> Fill =
        accelerator.LoadKernel<ArrayView<float>, int, float>(ElementwiseKernels.Fill);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, WindowGeometry, int, int, int> Im2Col =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, WindowGeometry, int, int, int>(NeuralKernels.Im2Col);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, WindowGeometry, int, UnaryOp, float, float> DepthwiseConv =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, WindowGeometry, int, UnaryOp, float, float>(NeuralKernels.DepthwiseConv);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, WindowGeometry, int, int, int> Pool =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, WindowGeometry, int, int, int>(NeuralKernels.Pool);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int> RowMean =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, int>(NeuralKernels.RowMean);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, Shape6, Shape6, Shape6, Shape6, int, int> ReduceMean =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, Shape6, Shape6, Shape6, Shape6, int, int>(NeuralKernels.ReduceMean);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int> Softmax =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, int, int>(NeuralKernels.Softmax);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, int> LayerNormRows =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, int>(NeuralKernels.LayerNormRows);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int> SoftmaxRows =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, int>(NeuralKernels.SoftmaxRows);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> Gather =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(NeuralKernels.Gather);

    public readonly Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs, int> TiledGemm =
        accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmArgs, int>(NeuralKernels.TiledGemm);
}
