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
}
