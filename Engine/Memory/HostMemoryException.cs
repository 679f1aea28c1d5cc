namespace OrleansServe.Engine.Memory;

/// <summary>Pinned host memory cannot hold a model: the configured cap (OrleansServe:PinnedMemoryBytes) is reached.</summary>
/// <param name="message">Names the model, the bytes it needs, the bytes remaining and the cap.</param>
public sealed class HostMemoryException(string message) : Exception(message);
