namespace OrleansServe.Scheduler.UnitTests.Profiles;

public sealed class RooflineEstimatorTests
{
    private const string RegenerateVariable = "ORLEANSSERVE_REGENERATE_PROFILES";

    [Fact]
    public void Resnet50_batch_1_on_a_v100_lands_near_torpors_native_11_ms()
    {
        var ms = new RooflineEstimator(DeviceSpec.V100).LatencyMs(Zoo.Model("resnet50"), 100, 1);
        Assert.InRange(ms, 10.0, 12.0);
    }

    [Fact]
    public void Latency_grows_with_batch_and_falls_as_the_partition_grows()
    {
        foreach (var device in DeviceSpec.Presets)
        {
            var estimator = new RooflineEstimator(device);
            foreach (var model in Zoo.Features)
            {
                for (var p = 10; p <= 100; p += 10)
                {
                    for (var b = 1; b < 32; b++)
                    {
                        Assert.True(estimator.LatencyMs(model, p, b + 1) >= estimator.LatencyMs(model, p, b), $"{device.Name} {model.Name} p{p} b{b}");
                        if (p < 100)
                        {
                            Assert.True(estimator.LatencyMs(model, p + 10, b) <= estimator.LatencyMs(model, p, b), $"{device.Name} {model.Name} p{p} b{b}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Batching_raises_throughput_and_small_partitions_fill_with_fewer_items()
    {
        var estimator = new RooflineEstimator(DeviceSpec.H100Sxm);
        var resnet = Zoo.Model("resnet50");
        double Throughput(int p, int b) => b * 1000 / estimator.LatencyMs(resnet, p, b);
        Assert.True(Throughput(100, 32) > 3 * Throughput(100, 1));
        // At batch 1 the SMs are underused: a fifth of them is barely slower than all of them.
        Assert.True(estimator.LatencyMs(resnet, 20, 1) < 1.5 * estimator.LatencyMs(resnet, 100, 1));
        Assert.True(estimator.LatencyMs(resnet, 20, 32) > 3 * estimator.LatencyMs(resnet, 100, 32));
    }

    [Fact]
    public void Memory_bandwidth_saturates_at_half_the_sms()
    {
        var device = DeviceSpec.H100Sxm;
        Assert.Equal(0.4, device.MemoryShare(20), 9);
        Assert.Equal(1.0, device.MemoryShare(50), 9);
        var estimator = new RooflineEstimator(device);
        var vgg = Zoo.Model("vgg16");
        Assert.Equal(estimator.Estimate(vgg, 50, 4).MemoryMs, estimator.Estimate(vgg, 100, 4).MemoryMs, 9);
        Assert.Equal(2.5 * estimator.Estimate(vgg, 50, 4).MemoryMs, estimator.Estimate(vgg, 20, 4).MemoryMs, 9);
    }

    [Fact]
    public void Latency_is_launch_overhead_plus_the_binding_roof()
    {
        var lenet = Zoo.Model("lenet5");
        var estimate = new RooflineEstimator(DeviceSpec.H100Sxm).Estimate(lenet, 100, 1);
        Assert.Equal(lenet.Layers * 5e-3, estimate.OverheadMs, 9);
        Assert.Equal(estimate.OverheadMs + Math.Max(estimate.ComputeMs, estimate.MemoryMs), estimate.LatencyMs, 12);
    }

    [Fact]
    public void Rows_are_tagged_roofline_and_the_device()
    {
        var rows = new RooflineEstimator(DeviceSpec.V100).Rows(Zoo.Model("bert_base")).ToList();
        Assert.Equal(ClusterSpec.GpuletPartitions.Count * RooflineEstimator.ProfiledBatches.Count, rows.Count);
        Assert.All(rows, r => Assert.Equal((ProfileSource.Roofline, "v100"), (r.Source, r.Device)));
    }

    [Fact]
    public void A_model_spec_holds_the_weights_and_the_workspace_of_batch_32()
    {
        var resnet = Zoo.Model("resnet50");
        var spec = resnet.ToModelSpec(108);
        Assert.Equal(new ModelSpec("resnet50", 108, 102_121_888 + 32 * 18_264_064L, 102_121_888), spec);
    }

    [Fact]
    public void A_features_file_without_layers_loads_with_no_launch_overhead()
    {
        var features = Assert.Single(ModelFeatures.FromCsv(
            "model,flops_per_item,weight_bytes,activation_bytes_per_item,workspace_bytes_batch1,parameters\nm,1e9,1000,2000,3000,250\n"));
        Assert.Equal(new ModelFeatures("m", 1e9, 1000, 2000, 3000, 250, 0), features);
        Assert.Equal(0, new RooflineEstimator(DeviceSpec.V100).Estimate(features, 100, 1).OverheadMs);
    }

    [Fact]
    public void A_features_file_with_bad_lines_is_refused_with_their_numbers()
    {
        var error = Assert.Throws<ProfileFormatException>(() => ModelFeatures.FromCsv(string.Join('\n',
            "model,flops_per_item,weight_bytes,activation_bytes_per_item,workspace_bytes_batch1,parameters,layers",
            "a,1,2,3,4,5,6",
            "b,x,2,3,4,5,6",
            "a,1,2,3,4,5,6",
            "c,1,2,3")));
        Assert.Equal([3, 4, 5], error.Errors.Select(e => e.Line));
    }

    [Fact]
    public void The_committed_h100_table_is_what_the_estimator_produces()
    {
        var path = Path.Combine(Zoo.ProfilesFolder, "h100-roofline.csv");
        var expected = Zoo.H100Table().ToCsv();
        if (Environment.GetEnvironmentVariable(RegenerateVariable) == "1")
        {
            File.WriteAllText(path, expected);
        }
        Assert.True(File.Exists(path), $"{path} is missing: run the tests with {RegenerateVariable}=1");
        Assert.True(expected == File.ReadAllText(path),
            $"{path} is stale: the estimator or the features changed; run the tests with {RegenerateVariable}=1 and commit the file");
    }

    [Fact]
    public void The_committed_h100_table_reads_back_as_a_latency_model()
    {
        var table = ProfileTable.FromCsv(File.ReadAllText(Path.Combine(Zoo.ProfilesFolder, "h100-roofline.csv")));
        Assert.Equal(11 * 6 * 6, table.Rows.Count);
        Assert.Equal(["h100-sxm"], table.Devices);
        Assert.Equal([ProfileSource.Roofline], table.SourcesOf("bert_base"));
        var expected = new RooflineEstimator(DeviceSpec.H100Sxm).LatencyMs(Zoo.Model("bert_base"), 60, 16);
        Assert.Equal(expected, table.LatencyMs("bert_base", 60, 16), 3);
    }
}
