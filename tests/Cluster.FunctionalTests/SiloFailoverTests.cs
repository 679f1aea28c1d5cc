using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OrleansServe.Zoo;
using Xunit.Abstractions;

namespace OrleansServe.Cluster.FunctionalTests;

/// <summary>A silo of a Redis cluster killed with SIGKILL while clients keep sending: every request gets an answer.</summary>
public sealed class SiloFailoverTests(RedisServer redis, ITestOutputHelper output) : IClassFixture<RedisServer>, IDisposable
{
    /// <summary>Concurrent clients, each sending its next request when the last is answered.</summary>
    private const int Clients = 4;

    /// <summary>Answers before the kill: the model is serving under load when its silo dies.</summary>
    private const int AnsweredBeforeKill = 200;

    /// <summary>Successful answers to requests sent after the kill that end the run: serving has resumed.</summary>
    private const int OkAfterKill = 200;

    /// <summary>A request not answered within this is counted unanswered (a hang, not a latency target).</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(20);

    /// <summary>A bound on a cluster that never serves again, so the test fails instead of hanging.</summary>
    private static readonly TimeSpan RecoveryBound = TimeSpan.FromMinutes(2);

    private readonly string repository = Directory.CreateTempSubdirectory("orleansserve-failover-").FullName;

    public void Dispose() => Directory.Delete(repository, recursive: true);

    [Fact]
    public async Task Killing_a_silo_under_load_leaves_no_request_unanswered()
    {
        Directory.CreateDirectory(Path.Combine(repository, "adder", "1"));
        File.WriteAllBytes(Path.Combine(repository, "adder", "1", "model.onnx"), TestModels.AddConstant(10f));
        File.WriteAllText(Path.Combine(repository, "adder", "config.json"), """{"max_batch_size": 4}""");
        var nodes = new ClusterNodes(redis.ConnectionString, repository);

        var ports = new Dictionary<string, (int Silo, int Gateway)>();
        foreach (var name in new[] { "first silo", "second silo", "third silo" })
        {
            ports[name] = (RedisServer.FreePort(), RedisServer.FreePort());
        }
        await using var first = await nodes.StartSiloAsync("first silo", ports["first silo"].Silo, ports["first silo"].Gateway);
        await using var second = await nodes.StartSiloAsync("second silo", ports["second silo"].Silo, ports["second silo"].Gateway);
        await using var third = await nodes.StartSiloAsync("third silo", ports["third silo"].Silo, ports["third silo"].Gateway);
        var (api, http) = await nodes.StartApiHostAsync("api");
        await using (api)
        using (http)
        {
            http.Timeout = ClientTimeout;
            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync("/v2/repository/models/adder/load", null)).StatusCode);
            var host = HostOf("adder", first, second, third);

            var tally = new Tally();
            var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using var done = new CancellationTokenSource();
            var clock = new Stopwatch();
            var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(() => SendUntilDoneAsync(http, tally, killed.Task, done.Token))).ToArray();

            await tally.Answered(AnsweredBeforeKill);
            await host.KillAsync();
            clock.Start();
            killed.SetResult();
            var recovered = tally.OkAfterKill(OkAfterKill);
            await Task.WhenAny(recovered, Task.Delay(RecoveryBound));
            await done.CancelAsync();
            await Task.WhenAll(clients);

            output.WriteLine($"killed {host.Name}; sent {tally.Sent}, ok {tally.Ok}, errors {tally.Errors} " +
                $"(statuses {string.Join(", ", tally.ErrorStatuses)}), unanswered {tally.Unanswered}, " +
                $"first ok after kill at {tally.FirstOkAfterKillMs} ms, last error after kill at {tally.LastErrorAfterKillMs} ms, " +
                $"ok after kill {tally.OkSentAfterKill}");
            output.WriteLine(string.Join("\n", tally.ErrorBodies));
            var plan = await http.GetStringAsync("/v2/admin/plan");
            output.WriteLine($"plan after failover: {plan}");
            var assignments = JsonNode.Parse(plan)!["assignments"]!.AsArray();
            Assert.Equal(2, assignments.Count);
            Assert.Single(assignments, a => a!["models"]!.AsArray().Any(m => m!.GetValue<string>() == "adder"));
            Assert.True(tally.Unanswered == 0, $"{tally.Unanswered} requests got no answer: {string.Join("; ", tally.Failures)}");
            Assert.Equal(tally.Sent, tally.Ok + tally.Errors);
            Assert.True(tally.OkSentAfterKill >= OkAfterKill, $"only {tally.OkSentAfterKill} requests sent after the kill succeeded");
            Assert.All(tally.ErrorStatuses, status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));

            // The silo comes back (a new process on the same ports) and its device rejoins the plan.
            await using var back = await nodes.StartSiloAsync($"{host.Name}, back", ports[host.Name].Silo, ports[host.Name].Gateway);
            assignments = JsonNode.Parse(await http.GetStringAsync("/v2/admin/plan"))!["assignments"]!.AsArray();
            Assert.Equal(3, assignments.Count);

            async Task SendUntilDoneAsync(HttpClient client, Tally counts, Task kill, CancellationToken stop)
            {
                while (!stop.IsCancellationRequested)
                {
                    var sentAfterKill = kill.IsCompleted;
                    counts.Sending();
                    try
                    {
                        using var response = await client.PostAsync("/v2/models/adder/infer", Request());
                        var text = await response.Content.ReadAsStringAsync();
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            Assert.Equal(11f, JsonNode.Parse(text)!["outputs"]![0]!["data"]![0]!.GetValue<float>());
                            counts.Succeeded(sentAfterKill, clock);
                        }
                        else if (IsJsonError(text))
                        {
                            counts.Refused(response.StatusCode, text, sentAfterKill, clock);
                        }
                        else
                        {
                            counts.NoAnswer($"{(int)response.StatusCode} without a JSON error: {text}");
                        }
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        counts.NoAnswer(e.GetType().Name + ": " + e.Message);
                    }
                }
            }
        }
    }

    /// <summary>The silo process whose log says the model became ready on one of its devices.</summary>
    private static ChildProcess HostOf(string model, params ChildProcess[] silos)
    {
        var hosts = silos.Where(s => s.Output.Any(line => line.Contains($"Model {model} version", StringComparison.Ordinal) && line.Contains("ready on", StringComparison.Ordinal))).ToList();
        Assert.True(hosts.Count == 1, $"model {model} is ready on {hosts.Count} silos");
        return hosts[0];
    }

    private static StringContent Request() => new(
        """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}]}""", Encoding.UTF8, "application/json");

    private static bool IsJsonError(string text)
    {
        try
        {
            return JsonNode.Parse(text) is JsonObject body && body["error"] is JsonValue error && error.GetValueKind() == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Counts of one run, shared by the clients; waiters are signalled by counts, not by time.</summary>
    private sealed class Tally
    {
        private readonly Lock gate = new();
        private readonly List<(int Count, TaskCompletionSource Signal)> answeredWaiters = [];
        private readonly List<(int Count, TaskCompletionSource Signal)> okAfterKillWaiters = [];

        public int Sent { get; private set; }

        public int Ok { get; private set; }

        public int Errors { get; private set; }

        public int Unanswered { get; private set; }

        public int OkSentAfterKill { get; private set; }

        public long? FirstOkAfterKillMs { get; private set; }

        /// <summary>When the last refusal of a request sent after the kill came: from then on every request succeeded.</summary>
        public long? LastErrorAfterKillMs { get; private set; }

        public List<HttpStatusCode> ErrorStatuses { get; } = [];

        public List<string> Failures { get; } = [];

        /// <summary>The first error body of each status, for the failure message and the log.</summary>
        public List<string> ErrorBodies { get; } = [];

        public void Sending()
        {
            lock (gate)
            {
                Sent++;
            }
        }

        public void Succeeded(bool sentAfterKill, Stopwatch sinceKill)
        {
            lock (gate)
            {
                Ok++;
                if (sentAfterKill)
                {
                    OkSentAfterKill++;
                    FirstOkAfterKillMs ??= sinceKill.ElapsedMilliseconds;
                }
                Signal();
            }
        }

        public void Refused(HttpStatusCode status, string body, bool sentAfterKill, Stopwatch sinceKill)
        {
            lock (gate)
            {
                Errors++;
                if (sentAfterKill)
                {
                    LastErrorAfterKillMs = sinceKill.ElapsedMilliseconds;
                }
                if (!ErrorStatuses.Contains(status))
                {
                    ErrorStatuses.Add(status);
                    ErrorBodies.Add(body);
                }
                Signal();
            }
        }

        public void NoAnswer(string why)
        {
            lock (gate)
            {
                Unanswered++;
                if (Failures.Count < 10)
                {
                    Failures.Add(why);
                }
                Signal();
            }
        }

        public Task Answered(int count) => Wait(answeredWaiters, count);

        public Task OkAfterKill(int count) => Wait(okAfterKillWaiters, count);

        private Task Wait(List<(int Count, TaskCompletionSource Signal)> waiters, int count)
        {
            lock (gate)
            {
                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                waiters.Add((count, signal));
                Signal();
                return signal.Task;
            }
        }

        private void Signal()
        {
            var answered = Ok + Errors + Unanswered;
            Release(answeredWaiters, answered);
            Release(okAfterKillWaiters, OkSentAfterKill);
        }

        private static void Release(List<(int Count, TaskCompletionSource Signal)> waiters, int value)
        {
            foreach (var waiter in waiters.Where(w => value >= w.Count).ToList())
            {
                waiter.Signal.TrySetResult();
                waiters.Remove(waiter);
            }
        }
    }
}
