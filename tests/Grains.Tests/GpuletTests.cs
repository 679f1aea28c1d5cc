using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OrleansServe.Grains.Devices;
using static OrleansServe.Grains.Tests.Tensors;

namespace OrleansServe.Grains.Tests;

/// <summary>The four sample models on a CPU device with room for all of them, starting as one whole-device gpulet.</summary>
public sealed class PartitionedCluster : ServingCluster
{
    public static IReadOnlyDictionary<string, (string Input, long[] Shape, long[] OutputShape)> Models { get; } =
        new Dictionary<string, (string, long[], long[])>
        {
            ["tabular_mlp"] = ("features", [1, 4], [1, 3]),
            ["mlp"] = ("input", [1, 784], [1, 10]),
            ["lenet5"] = ("input", [1, 1, 28, 28], [1, 10]),
            ["resnet_small"] = ("input", [1, 3, 32, 32], [1, 10]),
        };

    protected override void WriteModels()
    {
        foreach (var name in Models.Keys)
        {
            AddModel(name, SampleZoo.Build(name), """{"max_batch_size": 4}""");
        }
    }
}

public sealed class GpuletTests(PartitionedCluster fixture) : IClassFixture<PartitionedCluster>
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Repartitioning_under_load_answers_every_request()
    {
        var device = fixture.Grains.GetGrain<IGpuGrain>(await DeviceKeyAsync());
        var answered = new Progress();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var clients = PartitionedCluster.Models.Keys
            .SelectMany(model => Enumerable.Range(0, 2).Select(_ => ClientAsync(model, answered, failures, stop.Token)))
            .ToList();

        var splits = new GpuletPlan[][]
        {
            [new(50, ["mlp", "lenet5"]), new(50, ["resnet_small", "tabular_mlp"])],
            [new(40, []), new(60, [])],
            [new(100, [])],
        };
        var seen = new List<int[]> { (await device.GetStatusAsync()).Gpulets.Select(g => g.SmPercent).ToArray() };
        foreach (var split in splits)
        {
            // Repartition only while every client is busy sending: a batch of some model is in flight or queued.
            await answered.WhenAtLeast(answered.Count + 16).WaitAsync(HangGuard);
            var status = await device.RepartitionAsync(split);
            seen.Add([.. status.Gpulets.Select(g => g.SmPercent)]);
            // The new gpulets serve: each runs the models sent to it after the split.
            await answered.WhenAtLeast(answered.Count + 16).WaitAsync(HangGuard);
            var after = await device.GetStatusAsync();
            Assert.Equal(split.Select(p => p.SmPercent), after.Gpulets.Select(g => g.SmPercent));
            Assert.True(after.Gpulets.Sum(g => g.SwapIns) > 0, "batches after the split ran on the new gpulets");
            Assert.Equal(split.Select(p => p.Models), after.Gpulets.Select(g => g.Models));
        }
        stop.Cancel();
        var counts = await Task.WhenAll(clients).WaitAsync(HangGuard);

        Assert.Empty(failures);
        Assert.Equal(counts.Sum(c => c.Sent), counts.Sum(c => c.Ok));
        Assert.Equal(answered.Count, counts.Sum(c => c.Ok));
        Assert.Equal(new List<int[]> { new[] { 100 }, new[] { 50, 50 }, new[] { 40, 60 }, new[] { 100 } }, seen);
        var final = await device.GetStatusAsync();
        Assert.Equal(final.Description.MemoryBudgetBytes - final.UsedBytes, final.FreeBytes);
    }

    [Fact]
    public async Task A_split_the_device_cannot_make_is_refused_with_the_reason_and_changes_nothing()
    {
        var device = fixture.Grains.GetGrain<IGpuGrain>(await DeviceKeyAsync());
        var before = await device.GetStatusAsync();

        var oversubscribed = await Assert.ThrowsAsync<InferenceException>(() => device.RepartitionAsync([new(60, []), new(50, [])]));
        var zero = await Assert.ThrowsAsync<InferenceException>(() => device.RepartitionAsync([new(0, [])]));
        var none = await Assert.ThrowsAsync<InferenceException>(() => device.RepartitionAsync([]));
        var tooMuchMemory = await Assert.ThrowsAsync<InferenceException>(
            () => device.RepartitionAsync([new(50, [], before.Description.MemoryBudgetBytes + 1)]));

        Assert.All(new[] { oversubscribed, zero, none, tooMuchMemory }, e => Assert.Equal(InferenceErrorKind.BadRequest, e.Kind));
        Assert.Contains("110%", oversubscribed.Message);
        Assert.DoesNotContain("Parameter", oversubscribed.Message);
        Assert.Contains("1..100", zero.Message);
        Assert.Contains("memory", tooMuchMemory.Message);
        var after = await device.GetStatusAsync();
        Assert.Equal(before.Gpulets.Select(g => g.SmPercent), after.Gpulets.Select(g => g.SmPercent));
    }

    [Fact]
    public async Task Device_status_shows_each_gpulets_share_memory_and_resident_models()
    {
        var device = fixture.Grains.GetGrain<IGpuGrain>(await DeviceKeyAsync());
        var status = await device.RepartitionAsync([new(50, ["mlp"]), new(50, ["lenet5"])]);
        try
        {
            await Infer("mlp");
            await Infer("lenet5");
            status = await device.GetStatusAsync();

            Assert.Equal(2, status.Gpulets.Length);
            Assert.Equal(status.Description.MemoryBudgetBytes, status.Gpulets.Sum(g => g.MemoryBudgetBytes));
            Assert.Equal("mlp", Assert.Single(status.Gpulets[0].Resident).Model);
            Assert.Equal("lenet5", Assert.Single(status.Gpulets[1].Resident).Model);
            Assert.All(status.Gpulets, g => Assert.Equal(g.MemoryBudgetBytes - g.UsedBytes, g.FreeBytes));
            Assert.Equal(status.Gpulets.Sum(g => g.UsedBytes), status.UsedBytes);
        }
        finally
        {
            await device.RepartitionAsync([new(100, [])]);
        }
    }

    [Fact]
    public void Cpu_partitions_are_read_from_configuration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["OrleansServe:CpuDevice:Partitions:0"] = "50",
                ["OrleansServe:CpuDevice:Partitions:1"] = "50",
                ["OrleansServe:CpuDevice:Cores"] = "4",
            })
            .Build();
        var settings = configuration.GetSection(OrleansServeOptions.Section).Get<OrleansServeOptions>()!;

        var options = settings.CpuDevice.ToOptions();

        Assert.Equal([50, 50], options.Partitions.Select(p => p.SmPercent));
        Assert.Equal(4, options.Cores);
        Assert.Equal([100], new CpuDeviceSettings().ToOptions().Partitions.Select(p => p.SmPercent));
    }

    [Theory]
    [InlineData(new[] { 60, 50 }, "sum to 110%")]
    [InlineData(new[] { 0 }, "1 to 100")]
    [InlineData(new[] { 101 }, "1 to 100")]
    [InlineData(new int[0], "at least one gpulet")]
    public void Invalid_cpu_partitions_stop_the_silo_at_start_naming_the_setting(int[] partitions, string reason)
    {
        var options = Options.Create(new OrleansServeOptions { CpuDevice = { Partitions = partitions } });

        var error = Assert.Throws<InvalidOperationException>(() => new DeviceHost(options, NullLogger<DeviceHost>.Instance));

        Assert.Contains("OrleansServe:CpuDevice:Partitions", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.True(new OrleansServeOptionsValidator().Validate(null, options.Value).Failed);
    }

    private async Task<string> DeviceKeyAsync() =>
        Assert.Single(await fixture.Grains.GetGrain<ISchedulerGrain>("default").GetDevicesAsync()).Key;

    private async Task<InferenceResponse> Infer(string model)
    {
        var (input, shape, _) = PartitionedCluster.Models[model];
        var count = (int)shape.Aggregate(1L, (a, b) => a * b);
        return await fixture.Grains.GetGrain<IModelGrain>(model).InferAsync(Request(Fp32(input, shape, new float[count])));
    }

    /// <summary>Sends one request after another until stopped; every answer is checked.</summary>
    private async Task<(long Sent, long Ok)> ClientAsync(string model, Progress answered, ConcurrentQueue<string> failures, CancellationToken stop)
    {
        await Task.Yield();
        long sent = 0, ok = 0;
        var expected = PartitionedCluster.Models[model].OutputShape;
        while (!stop.IsCancellationRequested)
        {
            sent++;
            try
            {
                var response = await Infer(model);
                if (response.Outputs[0].Shape.SequenceEqual(expected))
                {
                    ok++;
                    answered.Add();
                }
                else
                {
                    failures.Enqueue($"{model}: output shape [{string.Join(",", response.Outputs[0].Shape)}]");
                }
            }
            catch (Exception e)
            {
                failures.Enqueue($"{model}: {e.GetType().Name}: {e.Message}");
            }
        }
        return (sent, ok);
    }
}
