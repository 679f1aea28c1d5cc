using OrleansServe.Grains;

namespace OrleansServe.KServe;

/// <summary>A parsed KServe v2 infer request together with how the client wants each output encoded.</summary>
/// <param name="Request">The wire request; every input's <see cref="Tensor.Data"/> holds raw little-endian row-major bytes.</param>
/// <param name="BinaryOutputDefault">The request's <c>parameters.binary_data_output</c> (false when absent).</param>
/// <param name="OutputBinary">
/// For each output named in <c>outputs</c>: whether it is to be returned as binary data, i.e. its own
/// <c>parameters.binary_data</c>, or <see cref="BinaryOutputDefault"/> where it did not say. Null when the request named no outputs.
/// </param>
public sealed record ParsedInferRequest(
    InferenceRequest Request,
    bool BinaryOutputDefault,
    IReadOnlyDictionary<string, bool>? OutputBinary)
{
    /// <summary>Whether the output called <paramref name="outputName"/> is to be written with the binary tensor extension.</summary>
    public bool IsBinaryOutput(string outputName) =>
        OutputBinary is not null && OutputBinary.TryGetValue(outputName, out var binary) ? binary : BinaryOutputDefault;
}
