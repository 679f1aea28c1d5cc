using OrleansServe.Tensors;

namespace OrleansServe.Grains;

/// <summary>
/// A named tensor: element type (the KServe datatype, e.g. FP32), shape, and row-major little-endian element bytes.
/// Immutable so that grain calls inside a silo pass the buffer by reference instead of copying it.
/// </summary>
[GenerateSerializer, Immutable, Alias("orleansserve.Tensor")]
public sealed record Tensor(
    [property: Id(0)] string Name,
    [property: Id(1)] ElementType ElementType,
    [property: Id(2)] long[] Shape,
    [property: Id(3)] byte[] Data)
{
    /// <summary>Number of elements the shape describes.</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var dim in Shape)
            {
                count *= dim;
            }
            return count;
        }
    }
}

/// <summary>An inference request for one model; the version is resolved by the caller (null = the served version).</summary>
/// <param name="Id">The caller's request id, echoed in the response.</param>
/// <param name="Inputs">The input tensors.</param>
/// <param name="RequestedOutputs">Outputs to return, in this order; null for every output in graph order.</param>
/// <param name="Version">The model version the caller asked for; null for the served one.</param>
/// <param name="WaitedMs">
/// Milliseconds the request already spent before it was sent to the model (a front end reading and parsing it);
/// admission counts them against the SLO.
/// </param>
[GenerateSerializer, Immutable, Alias("orleansserve.InferenceRequest")]
public sealed record InferenceRequest(
    [property: Id(0)] string? Id,
    [property: Id(1)] Tensor[] Inputs,
    [property: Id(2)] string[]? RequestedOutputs = null,
    [property: Id(3)] string? Version = null,
    [property: Id(4)] double WaitedMs = 0);

/// <summary>The outputs of one inference request, in the order requested (or graph order).</summary>
[GenerateSerializer, Immutable, Alias("orleansserve.InferenceResponse")]
public sealed record InferenceResponse(
    [property: Id(0)] string ModelName,
    [property: Id(1)] string ModelVersion,
    [property: Id(2)] string? Id,
    [property: Id(3)] Tensor[] Outputs);
