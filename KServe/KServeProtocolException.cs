namespace OrleansServe.KServe;

/// <summary>
/// A request body that does not follow the KServe v2 (Open Inference Protocol) REST format.
/// The message is written for the API user and is safe to return as the <c>{"error": ...}</c> body of a 400.
/// </summary>
public sealed class KServeProtocolException : Exception
{
    public KServeProtocolException(string message)
        : base(message)
    {
    }

    public KServeProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
