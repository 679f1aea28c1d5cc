using System.CommandLine;
using OrleansServe.Cli.Loadgen;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>loadgen --model NAME [--concurrency 1,8,32 | --rate R] [--direct model.onnx]</c>: measures a server's
/// throughput and latency, optionally next to ONNX Runtime called in-process on the same model.
/// </summary>
public static class LoadgenCommand
{
    public static Command Create()
    {
        var url = new Option<Uri>("--url")
        {
            Description = "Server base address",
            DefaultValueFactory = _ => new Uri("http://127.0.0.1:8000"),
            CustomParser = result =>
            {
                var text = result.Tokens.Single().Value;
                if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
                {
                    return uri;
                }
                result.AddError($"--url must be an absolute http:// or https:// address, not '{text}'");
                return null;
            },
        };
        var model = new Option<string>("--model") { Description = "Model to load", Required = true };
        var batch = new Option<int>("--batch") { Description = "Batch size of every request", DefaultValueFactory = _ => 1 };
        var concurrency = new Option<int[]>("--concurrency")
        {
            Description = "Closed loop: comma-separated concurrencies, one run each (default 1)",
            CustomParser = result =>
            {
                var parsed = ConcurrencyList.Parse(string.Join(',', result.Tokens.Select(t => t.Value)), out var error);
                if (error is not null)
                {
                    result.AddError(error);
                }
                return parsed ?? [];
            },
        };
        var rate = new Option<double?>("--rate") { Description = "Open loop: Poisson arrivals at this many requests/s (instead of --concurrency)" };
        var maxOutstanding = new Option<int>("--max-outstanding")
        {
            Description = "Open loop: most requests in flight; arrivals beyond it are dropped and counted",
            DefaultValueFactory = _ => 256,
        };
        var duration = new Option<double>("--duration") { Description = "Measured seconds per run", DefaultValueFactory = _ => 10 };
        var warmup = new Option<double>("--warmup") { Description = "Seconds before each run's measurement starts", DefaultValueFactory = _ => 2 };
        var maxRequests = new Option<long>("--max-requests")
        {
            Description = "Most requests one run may send, warmup included",
            DefaultValueFactory = _ => 10_000_000,
        };
        var json = new Option<FileInfo?>("--json") { Description = "Write the results as JSON to this file" };
        var direct = new Option<FileInfo?>("--direct") { Description = "Also run this .onnx in-process with ONNX Runtime at the same batch and concurrencies" };
        var intraOp = new Option<int>("--intra-op-threads") { Description = "ONNX Runtime intra-op threads of the direct loop", DefaultValueFactory = _ => 1 };
        var binary = new Option<bool>("--binary") { Description = "Send inputs and receive outputs with the binary tensor data extension" };
        var seed = new Option<int>("--seed") { Description = "Seed of the input values and arrivals", DefaultValueFactory = _ => SeededInputs.DefaultSeed };

        Positive(batch, 1, "--batch");
        Positive(maxOutstanding, 1, "--max-outstanding");
        Positive(intraOp, 1, "--intra-op-threads");
        Positive(maxRequests, 1, "--max-requests");
        duration.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is not (> 0 and <= 86_400))
            {
                result.AddError("--duration must be more than 0 and at most 86400 seconds");
            }
        });
        warmup.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double>() is not (>= 0 and <= 3_600))
            {
                result.AddError("--warmup must be between 0 and 3600 seconds");
            }
        });
        rate.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double?>() is not (> 0 and <= 1_000_000))
            {
                result.AddError("--rate must be more than 0 and at most 1000000 requests/s");
            }
        });
        direct.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<FileInfo?>() is { Exists: false } file)
            {
                result.AddError($"--direct: {file.FullName} does not exist");
            }
        });

        var command = new Command("loadgen", "Generate load against a KServe v2 server and report throughput and latency percentiles")
        {
            url, model, batch, concurrency, rate, maxOutstanding, duration, warmup, maxRequests, json, direct, intraOp, binary, seed,
        };
        command.Validators.Add(result =>
        {
            var hasRate = result.GetResult(rate) is { Implicit: false };
            if (hasRate && result.GetResult(concurrency) is { Implicit: false })
            {
                result.AddError("give either --concurrency (closed loop) or --rate (open loop), not both");
            }
            // The comparison is per concurrency; an open-loop run has none to match.
            if (hasRate && result.GetResult(direct) is { Implicit: false })
            {
                result.AddError("--direct compares closed-loop runs; use it with --concurrency, not --rate");
            }
        });
        command.SetAction((parseResult, cancellationToken) => LoadgenRunner.RunAsync(
            new LoadgenSettings(
                WithTrailingSlash(parseResult.GetValue(url)!),
                parseResult.GetRequiredValue(model),
                parseResult.GetValue(batch),
                parseResult.GetValue(concurrency) is { Length: > 0 } list ? list : [1],
                parseResult.GetValue(rate),
                parseResult.GetValue(maxOutstanding),
                TimeSpan.FromSeconds(parseResult.GetValue(duration)),
                TimeSpan.FromSeconds(parseResult.GetValue(warmup)),
                parseResult.GetValue(maxRequests),
                parseResult.GetValue(json),
                parseResult.GetValue(direct),
                parseResult.GetValue(intraOp),
                parseResult.GetValue(binary),
                parseResult.GetValue(seed)),
            cancellationToken));
        return command;
    }

    private static void Positive<T>(Option<T> option, T minimum, string name) where T : System.Numerics.INumber<T> =>
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<T>() < minimum)
            {
                result.AddError($"{name} must be at least {minimum}");
            }
        });

    // Relative paths resolve under the base path only when it ends in '/'.
    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
