using static OrleansServe.Grains.Tests.Tensors;

namespace OrleansServe.Grains.Tests;

public sealed class SwappingTests(TightMemoryCluster fixture) : IClassFixture<TightMemoryCluster>
{
    [Fact]
    public async Task Serves_more_models_than_fit_in_the_device_budget_by_swapping()
    {
        var shapes = new Dictionary<string, long[]>
        {
            ["mlp"] = [1, 784],
            ["lenet5"] = [1, 1, 28, 28],
            ["resnet_small"] = [1, 3, 32, 32],
        };
        for (var round = 0; round < 3; round++)
        {
            foreach (var (name, shape) in shapes)
            {
                var count = (int)shape.Aggregate(1L, (a, b) => a * b);
                var response = await fixture.Grains.GetGrain<IModelGrain>(name).InferAsync(Request(Fp32("input", shape, new float[count])));
                Assert.Equal([1L, 10L], response.Outputs[0].Shape);
            }
        }

        var scheduler = fixture.Grains.GetGrain<ISchedulerGrain>("default");
        var device = Assert.Single(await scheduler.GetDevicesAsync());
        var status = await fixture.Grains.GetGrain<IGpuGrain>(device.Key).GetStatusAsync();
        Assert.True(status.UsedBytes <= device.MemoryBudgetBytes);
        Assert.True(status.Evictions >= 6, $"expected evictions on every switch, saw {status.Evictions}");
        Assert.True(status.SwapIns >= 9);
    }

    [Fact]
    public async Task Serves_more_models_than_fit_by_swapping_with_concurrent_clients()
    {
        var shapes = new Dictionary<string, long[]>
        {
            ["mlp"] = [1, 784],
            ["lenet5"] = [1, 1, 28, 28],
            ["resnet_small"] = [1, 3, 32, 32],
        };
        var scheduler = fixture.Grains.GetGrain<ISchedulerGrain>("default");
        var device = fixture.Grains.GetGrain<IGpuGrain>(Assert.Single(await scheduler.GetDevicesAsync()).Key);
        var before = await device.GetStatusAsync();
        Assert.True(shapes.Keys.Sum(m => SampleZoo.Build(m).LongLength) > before.Description.MemoryBudgetBytes, "the models must not fit together");

        // Three clients per model, each with requests one after another: every model always has work waiting.
        var clients = shapes.SelectMany(model => Enumerable.Range(0, 3).Select(async _ =>
        {
            await Task.Yield();
            var count = (int)model.Value.Aggregate(1L, (a, b) => a * b);
            var answers = new List<long[]>();
            for (var i = 0; i < 8; i++)
            {
                var response = await fixture.Grains.GetGrain<IModelGrain>(model.Key).InferAsync(Request(Fp32("input", model.Value, new float[count])));
                answers.Add(response.Outputs[0].Shape);
            }
            return answers;
        })).ToList();
        var answered = await Task.WhenAll(clients).WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(shapes.Count * 3 * 8, answered.Sum(a => a.Count));
        Assert.All(answered.SelectMany(a => a), shape => Assert.Equal([1L, 10L], shape));
        var after = await device.GetStatusAsync();
        Assert.True(after.SwapIns - before.SwapIns >= 2, $"models took turns: {after.SwapIns - before.SwapIns} swap-ins");
        Assert.True(after.UsedBytes <= after.Description.MemoryBudgetBytes);
        Assert.Equal(after.Description.MemoryBudgetBytes - after.UsedBytes, after.FreeBytes);
    }
}
