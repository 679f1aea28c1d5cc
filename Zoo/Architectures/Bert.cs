using OrleansServe.Tensors;

namespace OrleansServe.Zoo.Architectures;

/// <summary>
/// A BERT encoder as transformer exports write it: word, position and token-type embeddings summed and layer
/// normalized; post-norm layers of multi-head self-attention and a GELU feed-forward block; and the pooler (the
/// first token through dense + tanh). Inputs are input_ids and attention_mask, int64 [batch, sequence]; every
/// token has token type 0. Masked positions get -10000 added to their attention scores. GELU is the exact
/// Erf form x·½·(1 + erf(x/√2)).
/// </summary>
internal static class Bert
{
    public sealed record Spec(int Vocabulary, int MaxPositions, int Sequence, int Hidden, int Heads, int Layers, int FeedForward);

    /// <summary>bert-base-uncased: 109,482,240 parameters with the pooler.</summary>
    public static Spec Base { get; } = new(30522, 512, 128, 768, 12, 12, 3072);

    public static Spec Tiny { get; } = new(100, 16, 8, 16, 2, 2, 32);

    private const int TokenTypes = 2;
    private const float LayerNormEpsilon = 1e-12f;

    public static void Write(LayerWriter layers, Spec spec)
    {
        var ids = layers.Input("input_ids", ElementType.Int64, spec.Sequence);
        var mask = layers.Input("attention_mask", ElementType.Int64, spec.Sequence);

        var positions = layers.Int64Constant([1, spec.Sequence], [.. Enumerable.Range(0, spec.Sequence).Select(p => (long)p)]);
        var tokenTypes = layers.Int64Constant([1, spec.Sequence], new long[spec.Sequence]);
        var x = layers.Embedding("embeddings.word_embeddings", ids, spec.Vocabulary, spec.Hidden);
        x = layers.Add(x, layers.Embedding("embeddings.position_embeddings", positions, spec.MaxPositions, spec.Hidden));
        x = layers.Add(x, layers.Embedding("embeddings.token_type_embeddings", tokenTypes, TokenTypes, spec.Hidden));
        x = layers.LayerNorm("embeddings.LayerNorm", x, LayerNormEpsilon);

        // [batch, sequence] of 1 (attend) / 0 (padding) becomes a [batch, 1, 1, sequence] additive score bias.
        var keep = layers.Cast(mask, ElementType.Fp32);
        var scoreBias = layers.Unsqueeze(layers.Mul(layers.Sub(layers.Scalar(1), keep), layers.Scalar(-10000)), 1, 2);

        for (var layer = 0; layer < spec.Layers; layer++)
        {
            var output = layer == spec.Layers - 1 ? "last_hidden_state" : null;
            x = EncoderLayer(layers, $"encoder.layer.{layer}", x, scoreBias, spec, output);
        }
        layers.Output(x);

        var first = layers.Select(x, axis: 1, index: 0);
        layers.Output(layers.Tanh(layers.Gemm("pooler.dense", first, spec.Hidden), output: "pooler_output"));
    }

    private static Activation EncoderLayer(LayerWriter layers, string prefix, Activation x, Activation scoreBias, Spec spec, string? output)
    {
        var headSize = spec.Hidden / spec.Heads;
        // Reshape targets copy batch and sequence (0) so the batch stays dynamic.
        Activation SplitHeads(Activation y) => layers.Reshape(y, 0, 0, spec.Heads, headSize);

        var query = layers.Transpose(SplitHeads(layers.Linear($"{prefix}.attention.self.query", x, spec.Hidden)), 0, 2, 1, 3);
        var key = layers.Transpose(SplitHeads(layers.Linear($"{prefix}.attention.self.key", x, spec.Hidden)), 0, 2, 3, 1);
        var value = layers.Transpose(SplitHeads(layers.Linear($"{prefix}.attention.self.value", x, spec.Hidden)), 0, 2, 1, 3);

        var scores = layers.Div(layers.MatMul(query, key), layers.Scalar(MathF.Sqrt(headSize)));
        var probabilities = layers.Softmax(layers.Add(scores, scoreBias), axis: -1);
        var context = layers.Transpose(layers.MatMul(probabilities, value), 0, 2, 1, 3);
        context = layers.Reshape(context, 0, 0, spec.Hidden);

        var attention = layers.Linear($"{prefix}.attention.output.dense", context, spec.Hidden);
        x = layers.LayerNorm($"{prefix}.attention.output.LayerNorm", layers.Add(attention, x), LayerNormEpsilon);

        var hidden = Gelu(layers, layers.Linear($"{prefix}.intermediate.dense", x, spec.FeedForward));
        var feedForward = layers.Linear($"{prefix}.output.dense", hidden, spec.Hidden);
        return layers.LayerNorm($"{prefix}.output.LayerNorm", layers.Add(feedForward, x), LayerNormEpsilon, output);
    }

    private static Activation Gelu(LayerWriter layers, Activation x)
    {
        var erf = layers.Erf(layers.Div(x, layers.Scalar(MathF.Sqrt(2))));
        return layers.Mul(layers.Mul(x, layers.Add(erf, layers.Scalar(1))), layers.Scalar(0.5f));
    }
}
