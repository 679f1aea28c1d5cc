using System.Diagnostics;

namespace OrleansServe.Cluster.FunctionalTests;

/// <summary>
/// A real child process whose readiness is a line it writes (a signal, not a timer). Disposing kills it with its
/// children at once, the way a crashed machine stops, and waits until it has exited.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    /// <summary>How long a process may take to write its ready line: a bound on a hang, not a timing assertion.</summary>
    private static readonly TimeSpan StartBound = TimeSpan.FromMinutes(2);

    private readonly Process process;
    private readonly List<string> output = [];
    private bool disposed;

    private ChildProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    /// <summary>What the test calls the process, in failure messages.</summary>
    public string Name { get; }

    /// <summary>Everything the process wrote so far, standard output and error interleaved.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (output)
            {
                return [.. output];
            }
        }
    }

    /// <summary>Starts a process and returns once it has written <paramref name="readyLine"/>; fails with its output if it exits first.</summary>
    public static async Task<ChildProcess> StartAsync(string name, string fileName, IEnumerable<string> arguments, string workingDirectory, string readyLine)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start };
        var child = new ChildProcess(name, process);
        var openStreams = 2;
        DataReceivedEventHandler collect = (_, e) =>
        {
            if (e.Data is null)
            {
                // Both streams end when the process exits: by then every line it wrote has been collected.
                if (Interlocked.Decrement(ref openStreams) == 0)
                {
                    ready.TrySetException(new InvalidOperationException($"{name} exited before it was ready:\n{string.Join("\n", child.Output)}"));
                }
                return;
            }
            lock (child.output)
            {
                child.output.Add(e.Data);
            }
            if (e.Data.Contains(readyLine, StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(StartBound);
        }
        catch (TimeoutException)
        {
            await child.DisposeAsync();
            throw new InvalidOperationException($"{name} did not write '{readyLine}' within {StartBound}:\n{string.Join("\n", child.Output)}");
        }
        catch
        {
            // A process that never became ready must not outlive the test.
            await child.DisposeAsync();
            throw;
        }
        return child;
    }

    /// <summary>The operating system's id of the process, to read its figures from /proc.</summary>
    public int Id => process.Id;

    /// <summary>Kills the process with its children at once (SIGKILL, as kill -9) and waits until it has exited; the process stays readable.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        await process.WaitForExitAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }
        await KillAsync();
        disposed = true;
        process.Dispose();
    }
}
