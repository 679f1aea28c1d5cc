using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using OrleansServe.Cli.Inference;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Onnx;
using OrleansServe.Tensors;
using Spectre.Console;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>bench --device cuda --models resnet50,bert_base --batches 1,8,32</c>: warm forward-pass latency per model and
/// batch, optionally with the largest error against ONNX Runtime on the CPU; results saved as JSON.
/// </summary>
public static class BenchCommand
{
    /// <summary>One model at one batch size.</summary>
    public sealed record BenchResult(
        string Model,
        int Batch,
        double MedianMs,
        double P90Ms,
        double EndToEndMedianMs,
        double ImagesPerSecond,
        int Iterations,
        double? MaxRelativeErrorVsOrt,
        string? Error);

    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "cuda, ilgpu-cpu or ort-cpu", DefaultValueFactory = _ => "cuda" };
        device.AcceptOnlyFromAmong("cuda", "ilgpu-cpu", "ort-cpu");
        var models = new Option<string>("--models") { Description = "Comma-separated .onnx files or zoo model names", Required = true };
        var batches = new Option<string>("--batches") { Description = "Comma-separated batch sizes", DefaultValueFactory = _ => "1,8,32" };
        var iterations = new Option<int>("--iterations") { Description = "Timed forward passes per model and batch", DefaultValueFactory = _ => 30 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed forward passes first", DefaultValueFactory = _ => 3 };
        var parity = new Option<bool>("--parity") { Description = "Compare each model's outputs with ONNX Runtime CPU, in the same process, at every batch" };
        var budget = new Option<double>("--time-budget") { Description = "Seconds after which no new measurement starts", DefaultValueFactory = _ => 3600 };
        var json = new Option<FileInfo?>("--json") { Description = "Write the results as JSON to this file" };
        var cudaGraphs = new Option<bool>("--cuda-graphs") { Description = "Replay each forward pass from a CUDA graph (cuda only; falls back to kernel launches if recording fails)" };
        var command = new Command("bench", "Measure warm forward-pass latency per model and batch size") { device, models, batches, iterations, warmup, parity, budget, json, cudaGraphs };
        command.SetAction(parse => Run(
            parse.GetRequiredValue(device),
            parse.GetRequiredValue(models).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            parse.GetRequiredValue(batches),
            parse.GetValue(iterations),
            parse.GetValue(warmup),
            parse.GetValue(parity),
            parse.GetValue(budget),
            parse.GetValue(json),
            parse.GetValue(cudaGraphs)));
        return command;
    }

    private static int Run(string deviceName, string[] models, string batchList, int iterations, int warmup, bool parity, double budgetSeconds, FileInfo? jsonFile, bool cudaGraphs)
    {
        int[] batches;
        try
        {
            batches = [.. batchList.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(b => int.TryParse(b, out var v) && v > 0 ? v : throw new ArgumentException($"'{b}' is not a batch size"))];
        }
        catch (ArgumentException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
        var device = ModelRunners.Parse(deviceName);
        var clock = Stopwatch.StartNew();
        var results = new List<BenchResult>();
        string? description = null;
        string? gemm = null;
        // One engine device for every model (its kernels compile once); a device failure starts a fresh one, since a
        // failed CUDA context stays failed.
        DeviceWorker? worker = null;
        // Set when a failure left CUDA unusable in this process (a sticky error): later models are not tried.
        string? unusable = null;
        try
        {
            foreach (var modelArgument in models)
            {
                byte[] bytes;
                string name;
                try
                {
                    (bytes, name) = ModelSource.Read(modelArgument);
                }
                catch (ArgumentException e)
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
                    return 1;
                }
                if (unusable is not null)
                {
                    results.AddRange(batches.Select(b => new BenchResult(name, b, 0, 0, 0, 0, 0, null, $"skipped: {unusable}")));
                    Save();
                    continue;
                }
                IModelRunner runner;
                try
                {
                    if (ModelRunners.EngineKind(device) is { } kind)
                    {
                        worker ??= DeviceWorker.StartAsync(kind).GetAwaiter().GetResult();
                    }
                    runner = ModelRunners.Load(device, bytes, cudaGraphs: cudaGraphs, worker: worker);
                }
                catch (Exception e) when (e is ModelPlanException || DeviceFailures.IsDeviceFailure(e))
                {
                    AnsiConsole.MarkupLineInterpolated($"[red]{name}:[/] {e.Message}");
                    results.AddRange(batches.Select(b => new BenchResult(name, b, 0, 0, 0, 0, 0, null, e.Message)));
                    Save();
                    Restart(name, e);
                    continue;
                }
                Exception? deviceFailure = null;
                try
                {
                    description ??= runner.Description;
                    gemm ??= runner.Gemm;
                    if (results.Count == 0)
                    {
                        AnsiConsole.MarkupLineInterpolated($"{description}; gemm: {gemm ?? "onnx runtime"}");
                    }
                    var graph = OnnxGraph.Read(bytes);
                    foreach (var batch in batches)
                    {
                        if (clock.Elapsed.TotalSeconds > budgetSeconds)
                        {
                            results.Add(new BenchResult(name, batch, 0, 0, 0, 0, 0, null, "skipped: time budget spent"));
                            continue;
                        }
                        var (result, failure) = Measure(runner, graph, bytes, name, batch, iterations, warmup, parity);
                        results.Add(result);
                        gemm = runner.Gemm;
                        Save();
                        AnsiConsole.MarkupLineInterpolated($"{name} batch {batch}: compute median {result.MedianMs:N3} ms (p90 {result.P90Ms:N3}), end to end {result.EndToEndMedianMs:N3} ms, {result.ImagesPerSecond:N0}/s{(result.MaxRelativeErrorVsOrt is { } err ? $", max error vs ORT {err:E2}" : "")}{(result.Error is { } error ? $" [red]{Markup.Escape(error)}[/]" : "")}");
                        if (failure is not null and not ModelPlanException)
                        {
                            // The rest of this model's batches would meet the same broken device.
                            deviceFailure = failure;
                            break;
                        }
                    }
                }
                finally
                {
                    try
                    {
                        runner.Dispose();
                    }
                    catch (Exception e) when (DeviceFailures.IsDeviceFailure(e))
                    {
                        deviceFailure ??= e;
                    }
                }
                Restart(name, deviceFailure);
            }
        }
        finally
        {
            Release();
        }
        Save();
        return results.Any(r => r.Error is not null && !r.Error.StartsWith("skipped", StringComparison.Ordinal)) ? 1 : 0;

        // After a device failure the next model gets a fresh device, if one still works in this process.
        void Restart(string model, Exception? cause)
        {
            if (cause is null or ModelPlanException || ModelRunners.EngineKind(device) is not { } kind)
            {
                return;
            }
            Release();
            try
            {
                worker = DeviceWorker.StartAsync(kind).GetAwaiter().GetResult();
                worker.Run(GpuSmoke.LaunchKernel);
            }
            catch (Exception e) when (DeviceFailures.IsDeviceFailure(e))
            {
                unusable = $"the device is unusable in this process since {model} failed ({cause.Message}): {e.Message}";
                AnsiConsole.MarkupLineInterpolated($"[red]{unusable}[/]");
                Release();
            }
        }

        void Release()
        {
            try
            {
                worker?.Dispose();
            }
            catch (Exception e) when (DeviceFailures.IsDeviceFailure(e))
            {
                // A device that failed may fail to tear down too; the next model gets a fresh one either way.
            }
            worker = null;
        }

        // Saved after every model too, so a run stopped from outside keeps what it measured.
        void Save()
        {
            if (jsonFile is null)
            {
                return;
            }
            var report = new
            {
                date = DateTimeOffset.UtcNow.ToString("O"),
                machine = Environment.MachineName,
                os = RuntimeInformation.OSDescription,
                cores = Environment.ProcessorCount,
                runtime = RuntimeInformation.FrameworkDescription,
                device = description ?? deviceName,
                gemm,
                cuda_graphs = cudaGraphs,
                iterations,
                warmup,
                results,
            };
            Benchmarks.BenchmarkJson.Write(jsonFile.FullName, report);
        }
    }

    /// <summary>
    /// One model at one batch: warm-up, timed compute-only passes, timed end-to-end passes, and with
    /// <paramref name="parity"/> the largest error against ONNX Runtime CPU on the same inputs. A failure of the model
    /// or the device is recorded in the result (and returned) instead of thrown.
    /// </summary>
    internal static (BenchResult Result, Exception? Failure) Measure(IModelRunner runner, OnnxGraph graph, byte[] bytes, string name, int batch, int iterations, int warmup, bool parity)
    {
        try
        {
            var inputs = SyntheticInputs(graph, batch);
            for (var i = 0; i < warmup; i++)
            {
                runner.Run(inputs);
            }
            var compute = new double[iterations];
            for (var i = 0; i < iterations; i++)
            {
                var start = Stopwatch.GetTimestamp();
                runner.RunCompute(inputs);
                compute[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            var endToEnd = new double[Math.Max(3, iterations / 3)];
            NamedTensor[] outputs = [];
            for (var i = 0; i < endToEnd.Length; i++)
            {
                var start = Stopwatch.GetTimestamp();
                outputs = runner.Run(inputs);
                endToEnd[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            double? error = null;
            if (parity)
            {
                using var reference = ModelRunners.Load(RunDevice.OrtCpu, bytes);
                error = MaxRelativeError(reference.Run(inputs), outputs);
            }
            Array.Sort(compute);
            Array.Sort(endToEnd);
            var median = compute[compute.Length / 2];
            return (new BenchResult(name, batch, median, compute[(int)(compute.Length * 0.9)], endToEnd[endToEnd.Length / 2], batch * 1000.0 / median, iterations, error, null), null);
        }
        catch (Exception e) when (e is ModelPlanException || DeviceFailures.IsDeviceFailure(e))
        {
            return (new BenchResult(name, batch, 0, 0, 0, 0, 0, null, $"{e.GetType().Name}: {e.Message}"), e);
        }
    }

    /// <summary>Seeded inputs: floats in [-1, 1); integer masks all ones; other integers (token ids) in [0, 100).</summary>
    public static NamedTensor[] SyntheticInputs(OnnxGraph graph, int batch)
    {
        var random = new Random(batch);
        return [.. graph.Inputs.Select(input =>
        {
            var shape = input.Shape.Select((d, i) => (long)(d ?? (i == 0 ? batch : throw new ModelPlanException($"input '{input.Name}' has a dynamic dimension {i} besides the batch")))).ToArray();
            var count = shape.Aggregate(1L, (p, d) => p * d);
            byte[] data = input.ElementType switch
            {
                ElementType.Fp32 => MemoryMarshal.AsBytes(Enumerable.Range(0, (int)count).Select(_ => random.NextSingle() * 2 - 1).ToArray().AsSpan()).ToArray(),
                ElementType.Int64 => MemoryMarshal.AsBytes(Enumerable.Range(0, (int)count).Select(_ => input.Name.Contains("mask", StringComparison.OrdinalIgnoreCase) ? 1L : random.NextInt64(0, 100)).ToArray().AsSpan()).ToArray(),
                ElementType.Int32 => MemoryMarshal.AsBytes(Enumerable.Range(0, (int)count).Select(_ => input.Name.Contains("mask", StringComparison.OrdinalIgnoreCase) ? 1 : random.Next(0, 100)).ToArray().AsSpan()).ToArray(),
                _ => throw new NotSupportedException($"input '{input.Name}' is {input.ElementType.ToKServeName()}; bench makes FP32, INT64 and INT32 inputs"),
            };
            return new NamedTensor(input.Name, input.ElementType, shape, data);
        })];
    }

    /// <summary>max |actual − expected| / max(1, max |expected|) over every output.</summary>
    public static double MaxRelativeError(IReadOnlyList<NamedTensor> expected, IReadOnlyList<NamedTensor> actual)
    {
        double worst = 0;
        foreach (var want in expected)
        {
            var got = actual.First(a => a.Name == want.Name);
            if (want.ElementType != ElementType.Fp32 || got.ElementType != ElementType.Fp32)
            {
                continue;
            }
            var w = MemoryMarshal.Cast<byte, float>(want.Data.Span);
            var g = MemoryMarshal.Cast<byte, float>(got.Data.Span);
            double scale = 1;
            foreach (var v in w)
            {
                scale = Math.Max(scale, Math.Abs(v));
            }
            for (var i = 0; i < w.Length; i++)
            {
                worst = Math.Max(worst, Math.Abs(w[i] - g[i]) / scale);
            }
        }
        return worst;
    }
}
