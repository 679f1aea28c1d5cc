using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using OrleansServe.KServe;

namespace OrleansServe.Cli.Loadgen;

/// <summary>Drives POST {url}/v2/models/{model}/infer with one prebuilt body through one shared HttpClient.</summary>
public sealed class HttpLoad : IDisposable
{
    private readonly HttpClient client;
    private readonly Uri baseUri;
    private readonly string model;

    /// <param name="maxConnections">At least the largest concurrency or outstanding bound, so no request queues inside the client.</param>
    public HttpLoad(Uri baseUri, string model, int maxConnections)
    {
        this.baseUri = baseUri;
        this.model = model;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(1, maxConnections),
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }

    private Uri InferUri => new(baseUri, $"v2/models/{Uri.EscapeDataString(model)}/infer");

    /// <summary>GET {url}/v2/models/{model}.</summary>
    /// <exception cref="LoadgenException">The server is unreachable, answers an error, or the answer is not metadata.</exception>
    public async Task<ModelMetadataResponse> GetMetadataAsync(CancellationToken cancellationToken)
    {
        var uri = new Uri(baseUri, $"v2/models/{Uri.EscapeDataString(model)}");
        HttpResponseMessage response;
        try
        {
            response = await client.GetAsync(uri, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new LoadgenException($"GET {uri} failed: {e.Message}", e);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new LoadgenException($"GET {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}: {Shorten(text)}");
            }
            return ModelMetadata.Parse(text);
        }
    }

    /// <summary>Closed loop: <paramref name="concurrency"/> workers, each sending its next request when the last one answers.</summary>
    public async Task<IReadOnlyList<WorkerTally>> RunClosedLoopAsync(InferRequestBody body, int concurrency, RunWindow window, CancellationToken cancellationToken)
    {
        var uri = InferUri;
        var workers = Enumerable.Range(0, concurrency).Select(_ => new WorkerTally()).ToArray();
        await Task.WhenAll(workers.Select(tally => Task.Run(async () =>
        {
            while (true)
            {
                var begin = Stopwatch.GetTimestamp();
                if (!window.TryStart(begin, cancellationToken))
                {
                    break;
                }
                var (status, error) = await SendAsync(uri, body, cancellationToken);
                tally.Complete(window, begin, Stopwatch.GetTimestamp(), status, error);
            }
        }, CancellationToken.None)));
        return workers;
    }

    /// <summary>
    /// Open loop: Poisson arrivals at <paramref name="rateRps"/>, at most <paramref name="maxOutstanding"/> in flight;
    /// an arrival finding the bound reached is dropped. Latency runs from the planned arrival time, so a
    /// late dispatcher shows up in the figures instead of hiding.
    /// </summary>
    public async Task<IReadOnlyList<WorkerTally>> RunOpenLoopAsync(
        InferRequestBody body, double rateRps, int maxOutstanding, int seed, RunWindow window, CancellationToken cancellationToken)
    {
        var uri = InferUri;
        var tally = new WorkerTally();
        var random = new Random(seed);
        var pending = new List<Task>();
        var outstanding = 0;
        var arrival = (double)window.Start;
        while (true)
        {
            // Exponential gaps between arrivals make a Poisson process.
            arrival += -Math.Log(1 - random.NextDouble()) / rateRps * Stopwatch.Frequency;
            var planned = (long)arrival;
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), planned);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
            if (planned >= window.End || !window.TryStart(planned, cancellationToken))
            {
                break;
            }
            if (Volatile.Read(ref outstanding) >= maxOutstanding)
            {
                if (planned >= window.WarmupEnd)
                {
                    lock (tally)
                    {
                        tally.Dropped++;
                    }
                }
                continue;
            }
            Interlocked.Increment(ref outstanding);
            pending.Add(Task.Run(async () =>
            {
                try
                {
                    var (status, error) = await SendAsync(uri, body, cancellationToken);
                    var end = Stopwatch.GetTimestamp();
                    lock (tally)
                    {
                        tally.Complete(window, planned, end, status, error);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref outstanding);
                }
            }, CancellationToken.None));
        }
        await Task.WhenAll(pending);
        return [tally];
    }

    /// <summary>Sends one request and reads the whole answer; (status, null) on success.</summary>
    public async Task<(int? Status, string? Error)> SendAsync(Uri uri, InferRequestBody body, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new ByteArrayContent(body.Bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(body.ContentType);
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };
            if (body.HeaderLength is int length)
            {
                request.Headers.TryAddWithoutValidation(InferRequestBody.HeaderLengthHeader, length.ToString(CultureInfo.InvariantCulture));
            }
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                await response.Content.CopyToAsync(Stream.Null, cancellationToken);
                return ((int)response.StatusCode, null);
            }
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return ((int)response.StatusCode, $"HTTP {(int)response.StatusCode}: {Shorten(text)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return (null, $"{e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>The infer address, for probes.</summary>
    public Uri InferAddress => InferUri;

    public void Dispose() => client.Dispose();

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
