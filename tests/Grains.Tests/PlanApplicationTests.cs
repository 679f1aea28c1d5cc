using System.Collections.Concurrent;
using System.Text.Json;

namespace OrleansServe.Grains.Tests;

/// <summary>Two sample models on one CPU device, planned by gpulet's policy and applied to the device on request.</summary>
public sealed class PlanApplyingCluster : ServingCluster
{
    public static IReadOnlyDictionary<string, (string Input, long[] Shape)> Models { get; } =
        new Dictionary<string, (string, long[])> { ["mlp"] = ("input", [1, 784]), ["lenet5"] = ("input", [1, 1, 28, 28]) };

    protected override void WriteModels()
    {
        foreach (var name in Models.Keys)
        {
            AddModel(name, SampleZoo.Build(name), """{"max_batch_size": 4}""");
        }
    }

    protected override IEnumerable<KeyValuePair<string, string>> Settings() =>
    [
        new("OrleansServe:Scheduler:Policy", "gpulet"),
        new("OrleansServe:Scheduler:ApplyPlan", "true"),
        new("OrleansServe:Scheduler:ReplanPeriodSeconds", "0"),
    ];
}

public sealed class PlanApplicationTests(PlanApplyingCluster fixture) : IClassFixture<PlanApplyingCluster>
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(3);

    private ISchedulerGrain Scheduler => fixture.Grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);

    [Fact]
    public async Task A_replan_splits_the_device_as_the_plan_says_and_every_request_sent_meanwhile_is_answered()
    {
        var device = fixture.Grains.GetGrain<IGpuGrain>((await Scheduler.GetDevicesAsync()).Single().Key);
        var answered = new Progress();
        var failures = new ConcurrentQueue<string>();
        using var stop = new CancellationTokenSource();
        var clients = PlanApplyingCluster.Models.Keys
            .SelectMany(model => Enumerable.Range(0, 2).Select(_ => ClientAsync(model, answered, failures, stop.Token)))
            .ToList();

        // The first re-plan only starts each model's rate; the second plans from the rates and applies the plan.
        await answered.WhenAtLeast(8).WaitAsync(HangGuard);
        await Scheduler.ReplanAsync();
        await answered.WhenAtLeast(answered.Count + 16).WaitAsync(HangGuard);
        using var schedule = JsonDocument.Parse(await Scheduler.ReplanAsync());
        // The device serves from its new gpulets while the clients keep sending.
        await answered.WhenAtLeast(answered.Count + 16).WaitAsync(HangGuard);
        stop.Cancel();
        var counts = await Task.WhenAll(clients).WaitAsync(HangGuard);

        var planned = schedule.RootElement.GetProperty("plan").GetProperty("gpus")[0].GetProperty("gpulets").EnumerateArray()
            .Select(g => (Share: g.GetProperty("partition").GetInt32(),
                Models: g.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("model").GetString()!).Order().ToArray()))
            .ToList();
        // gpulet's policy gives two models with measured rates complementary gpulets of one GPU.
        Assert.Equal(2, planned.Count);
        var applied = Assert.Single(schedule.RootElement.GetProperty("applied").EnumerateArray());
        Assert.Equal("repartitioned", applied.GetProperty("action").GetString());
        Assert.Equal(device.GetPrimaryKeyString(), applied.GetProperty("device").GetString());
        var status = await device.GetStatusAsync();
        Assert.Equal(planned.Select(p => p.Share), status.Gpulets.Select(g => g.SmPercent));
        Assert.Equal(planned.Select(p => p.Models), status.Gpulets.Select(g => g.Models.Order().ToArray()));
        Assert.Empty(failures);
        Assert.Equal(counts.Sum(c => c.Sent), counts.Sum(c => c.Ok));
    }

    private async Task<(int Sent, int Ok)> ClientAsync(string model, Progress answered, ConcurrentQueue<string> failures, CancellationToken stop)
    {
        var (input, shape) = PlanApplyingCluster.Models[model];
        var grain = fixture.Grains.GetGrain<IModelGrain>(model);
        var data = new byte[shape.Aggregate(1L, (a, b) => a * b) * sizeof(float)];
        int sent = 0, ok = 0;
        while (!stop.IsCancellationRequested)
        {
            sent++;
            try
            {
                await grain.InferAsync(new InferenceRequest(null, [new Tensor(input, ElementType.Fp32, shape, data)]));
                ok++;
                answered.Add();
            }
            catch (InferenceException e)
            {
                failures.Enqueue($"{model}: {e.Message}");
            }
        }
        return (sent, ok);
    }
}
