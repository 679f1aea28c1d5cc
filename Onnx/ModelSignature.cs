using OrleansServe.Tensors;

namespace OrleansServe.Onnx;

/// <summary>One named input or output of a model. A dimension of -1 is dynamic (any size).</summary>
public sealed record TensorSignature(string Name, ElementType ElementType, long[] Shape)
{
    /// <summary>True when the first dimension is dynamic, so requests can be stacked into a batch along it.</summary>
    public bool HasDynamicBatch => Shape.Length > 0 && Shape[0] < 0;
}

/// <summary>The inputs and outputs of a model graph, in graph order.</summary>
public sealed record ModelSignature(IReadOnlyList<TensorSignature> Inputs, IReadOnlyList<TensorSignature> Outputs);

/// <summary>A model file that cannot be served: not ONNX, truncated, or using types the server does not support.</summary>
public sealed class InvalidModelException(string message, Exception? inner = null) : Exception(message, inner);
