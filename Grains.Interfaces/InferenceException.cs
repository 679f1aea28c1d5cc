namespace OrleansServe.Grains;

/// <summary>Why an inference or management call was refused; the HTTP front end maps each to a status code.</summary>
[GenerateSerializer, Alias("orleansserve.InferenceErrorKind")]
public enum InferenceErrorKind
{
    /// <summary>The request does not fit the model (shape, datatype, unknown input): HTTP 400.</summary>
    BadRequest,
    /// <summary>No such model or version: HTTP 404.</summary>
    NotFound,
    /// <summary>The model exists but is not loaded or failed to load: HTTP 503.</summary>
    Unavailable,
    /// <summary>The model's queue is full: HTTP 503.</summary>
    Overloaded,
    /// <summary>The device failed to run the batch: HTTP 500-class, reported as 503 since the request may be retried.</summary>
    ExecutionFailed,
}

/// <summary>A refused inference or management call, with a message meant for the caller.</summary>
[GenerateSerializer, Alias("orleansserve.InferenceException")]
public sealed class InferenceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InferenceException(InferenceErrorKind kind, string message) : base(message)
    {
        Kind = kind;
    }

    /// <summary>What kind of refusal this is.</summary>
    [Id(0)]
    public InferenceErrorKind Kind { get; init; }
}
