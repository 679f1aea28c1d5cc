using OrleansServe.Engine.UnitTests.Planning;

namespace OrleansServe.Engine.UnitTests.Gpu;

/// <summary>Gpulet partitions of a device: grid caps scaled to the SM share, same results.</summary>
[Collection(IlgpuCpuCollection.Name)]
public sealed class GpuPartitionTests(IlgpuCpuDevice device)
{
    [Theory]
    [InlineData(100)]
    [InlineData(50)]
    [InlineData(20)]
    public void A_gpulets_launches_never_exceed_its_share_of_the_devices_groups(int smPercent)
    {
        var (whole, limits, launches) = device.Worker.Run(d =>
        {
            using var partition = d.CreatePartition(smPercent);
            long[] sizes = [1, 7, 100, 10_000, 1L << 30];
            return (d.Limits, partition.Limits,
                sizes.SelectMany(n => new[] { partition.Launch(n), partition.LaunchRows(n, 64) }).ToList());
        });

        Assert.Equal(Math.Max(1, (int)Math.Round(whole.MaxGroups * smPercent / 100.0)), limits.MaxGroups);
        Assert.Equal(Math.Max(1, (int)Math.Round(whole.MaxRowGroups * smPercent / 100.0)), limits.MaxRowGroups);
        Assert.All(launches, launch => Assert.InRange(launch.GridDim.X, 1, Math.Max(limits.MaxGroups, limits.MaxRowGroups)));
        Assert.All(launches.Where((_, i) => i % 2 == 0), launch => Assert.True(launch.GridDim.X <= limits.MaxGroups));
        Assert.All(launches.Where((_, i) => i % 2 == 1), launch => Assert.True(launch.GridDim.X <= limits.MaxRowGroups));
    }

    [Fact]
    public void A_model_on_a_fifth_of_the_device_matches_onnx_runtime()
    {
        var bytes = ModelZoo.Build("lenet5_tiny");
        var inputs = SwapModels.Inputs("lenet5_tiny", batch: 2);

        var outputs = device.Worker.Run(d =>
        {
            using var partition = d.CreatePartition(20);
            using var model = DeviceModel.Load(partition, OnnxGraph.Read(bytes));
            return model.Run(inputs);
        });

        SwapModels.AssertMatches(SwapModels.OnnxRuntime("lenet5_tiny", inputs), outputs);
    }
}
