using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrleansServe.KServe;

namespace OrleansServe.Cli.Loadgen;

/// <summary>
/// The in-process baseline: one InferenceSession with the server's CPU session settings, run back-to-back
/// from N threads on the same seeded inputs.
/// </summary>
public sealed class DirectLoad : IDisposable
{
    private readonly InferenceSession session;
    private readonly string[] outputNames;

    public DirectLoad(string onnxPath, int intraOpThreads)
    {
        // Same settings as the server's CPU device, so the comparison measures serving overhead, not tuning.
        using var options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        try
        {
            session = new InferenceSession(onnxPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new LoadgenException($"cannot load {onnxPath}: {e.Message}", e);
        }
        outputNames = [.. session.OutputMetadata.Keys];
        Inputs = [.. session.InputMetadata.Select(pair => new TensorMetadataResponse(
            pair.Key,
            pair.Value.ElementDataType == TensorElementType.Float ? "FP32" : pair.Value.ElementDataType.ToString(),
            [.. pair.Value.Dimensions.Select(d => (long)d)]))];
    }

    /// <summary>The model file's inputs in metadata form (-1 for symbolic dimensions).</summary>
    public IReadOnlyList<TensorMetadataResponse> Inputs { get; }

    /// <summary>Runs <paramref name="concurrency"/> dedicated threads until the window closes.</summary>
    public Task<IReadOnlyList<WorkerTally>> RunAsync(IReadOnlyList<InputTensor> inputs, float[][] data, int concurrency, RunWindow window, CancellationToken cancellationToken)
    {
        var workers = Enumerable.Range(0, concurrency).Select(_ => new WorkerTally()).ToArray();
        var done = new TaskCompletionSource<IReadOnlyList<WorkerTally>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var remaining = concurrency;
        for (var i = 0; i < concurrency; i++)
        {
            var tally = workers[i];
            var thread = new Thread(() =>
            {
                try
                {
                    Loop(inputs, data, tally, window, cancellationToken);
                }
                finally
                {
                    if (Interlocked.Decrement(ref remaining) == 0)
                    {
                        done.SetResult(workers);
                    }
                }
            })
            { IsBackground = true, Name = $"loadgen-direct-{i}" };
            thread.Start();
        }
        return done.Task;
    }

    private void Loop(IReadOnlyList<InputTensor> inputs, float[][] data, WorkerTally tally, RunWindow window, CancellationToken cancellationToken)
    {
        var names = inputs.Select(input => input.Name).ToArray();
        // The inputs only wrap the shared arrays; ONNX Runtime reads them and never writes.
        var values = inputs.Select((input, i) => OrtValue.CreateTensorValueFromMemory(data[i], input.Shape)).ToArray();
        using var runOptions = new RunOptions();
        try
        {
            while (true)
            {
                var begin = Stopwatch.GetTimestamp();
                if (!window.TryStart(begin, cancellationToken))
                {
                    break;
                }
                string? error = null;
                try
                {
                    using var outputs = session.Run(runOptions, names, values, outputNames);
                }
                catch (OnnxRuntimeException e)
                {
                    error = $"OnnxRuntimeException: {e.Message}";
                }
                tally.Complete(window, begin, Stopwatch.GetTimestamp(), null, error);
            }
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    public void Dispose() => session.Dispose();
}
