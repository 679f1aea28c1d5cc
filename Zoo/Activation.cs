using OrleansServe.Tensors;

namespace OrleansServe.Zoo;

/// <summary>
/// A value flowing through a generated graph: its name, element type and shape with the batch set to one.
/// Knowing shapes lets layers infer their input widths and lets the zoo count activations without running anything.
/// </summary>
/// <param name="Batched">True when the first dimension is the model's dynamic batch; false for values every item shares (e.g. position embeddings).</param>
internal readonly record struct Activation(string Name, ElementType Type, int[] Shape, bool Batched = true)
{
    public int Rank => Shape.Length;

    /// <summary>Channels of an NCHW image (or features of a [batch, features] matrix).</summary>
    public int Channels => Shape[1];

    /// <summary>The last dimension, e.g. the hidden size of a [batch, sequence, hidden] value.</summary>
    public int Last => Shape[^1];

    public long Elements => Shape.Aggregate(1L, (product, d) => product * d);
}
