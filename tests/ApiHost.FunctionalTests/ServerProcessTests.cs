using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace OrleansServe.ApiHost.FunctionalTests;

/// <summary>The real ApiHost process, started the way a user starts it, over a model repository of the user's own.</summary>
public sealed class ServerProcessTests : IDisposable
{
    private readonly string repository = Directory.CreateTempSubdirectory("orleansserve-own-").FullName;

    public void Dispose() => Directory.Delete(repository, recursive: true);

    [Fact]
    public async Task Serves_a_users_own_repository_over_http_and_keeps_it_across_a_restart()
    {
        ServerFactory.AddModel(repository, "my_adder", TestModels.AddConstant(10f), """{"max_batch_size": 4, "slo_ms": 30}""");

        await using (var server = await RunningServer.StartAsync(repository))
        {
            var response = await server.Client.PostAsync("/v2/models/my_adder/infer", Json.InferBody("x", [2, 3], [1, 2, 3, 4, 5, 6]));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(new float[] { 11, 12, 13, 14, 15, 16 }, Json.OutputData(await Json.ReadAsync(response), "y"));
            var index = await Json.ReadAsync(await server.Client.PostAsync("/v2/repository/index", null));
            Assert.Equal("my_adder", Assert.Single(index.EnumerateArray()).GetProperty("name").GetString());
        }

        await using (var restarted = await RunningServer.StartAsync(repository))
        {
            var metadata = await Json.ReadAsync(await restarted.Client.GetAsync("/v2/models/my_adder"));
            Assert.Equal(30, metadata.GetProperty("config").GetProperty("slo_ms").GetDouble());
            var response = await restarted.Client.PostAsync("/v2/models/my_adder/infer", Json.InferBody("x", [1, 3], [0, 0, 0]));
            Assert.Equal(new float[] { 10, 10, 10 }, Json.OutputData(await Json.ReadAsync(response), "y"));
        }
    }

    [Fact]
    public async Task An_empty_repository_gets_the_sample_zoo_on_first_start()
    {
        var empty = Path.Combine(repository, "fresh");
        await using var server = await RunningServer.StartAsync(empty);

        var index = await Json.ReadAsync(await server.Client.PostAsync("/v2/repository/index", null));
        Assert.Equal(SampleZoo.ModelNames.Order(), index.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).Order());
        Assert.Contains(server.Output, line => line.Contains("wrote the sample zoo", StringComparison.Ordinal));
    }

    /// <summary>An ApiHost child process; ready when it logs that it is (a signal, not a timer).</summary>
    private sealed class RunningServer : IAsyncDisposable
    {
        private readonly Process process;
        private readonly List<string> output = [];

        private RunningServer(Process process, int port)
        {
            this.process = process;
            Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        }

        public HttpClient Client { get; }

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

        public static async Task<RunningServer> StartAsync(string repository)
        {
            var port = ServerFactory.FreePort();
            var dll = Path.Combine(AppContext.BaseDirectory, "OrleansServe.ApiHost.dll");
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            foreach (var arg in new[]
            {
                dll, "--model-repository", repository, "--urls", $"http://127.0.0.1:{port}",
                "--Cluster:SiloPort", ServerFactory.FreePort().ToString(CultureInfo.InvariantCulture),
                "--Cluster:GatewayPort", ServerFactory.FreePort().ToString(CultureInfo.InvariantCulture),
            })
            {
                start.ArgumentList.Add(arg);
            }
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var server = new RunningServer(process, port);
            DataReceivedEventHandler collect = (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }
                lock (server.output)
                {
                    server.output.Add(e.Data);
                }
                if (e.Data.Contains("OrleansServe ready", StringComparison.Ordinal))
                {
                    ready.TrySetResult();
                }
            };
            process.OutputDataReceived += collect;
            process.ErrorDataReceived += collect;
            process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("the server exited:\n" + string.Join("\n", server.Output)));
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await ready.Task.WaitAsync(TimeSpan.FromMinutes(2));
            }
            catch
            {
                // A server that never became ready must not outlive the test.
                await server.DisposeAsync();
                throw;
            }
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }
}
