namespace OrleansServe.Cli.Loadgen;

/// <summary>A problem the user can act on (bad metadata, unsupported model); printed without a stack trace.</summary>
public sealed class LoadgenException(string message, Exception? inner = null) : Exception(message, inner);
