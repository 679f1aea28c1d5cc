namespace OrleansServe.Engine.UnitTests.Execution;

public sealed class HostWeightStoreTests
{
    [Fact]
    public void Refuses_a_model_over_the_host_memory_cap_and_keeps_what_it_holds()
    {
        var store = new HostWeightStore(capacityBytes: 100);
        store.Put("a", new byte[60]);

        var error = Assert.Throws<DeviceMemoryException>(() => store.Put("b", new byte[50]));

        Assert.Contains("'b'", error.Message);
        Assert.Equal(60, store.UsedBytes);
        Assert.True(store.TryGet("a", out _));
        Assert.False(store.TryGet("b", out _));
    }

    [Fact]
    public void Replacing_a_model_accounts_only_the_new_bytes()
    {
        var store = new HostWeightStore(capacityBytes: 100);
        store.Put("a", new byte[60]);
        store.Put("a", new byte[90]);
        Assert.Equal(90, store.UsedBytes);
        store.Remove("a");
        Assert.Equal(0, store.UsedBytes);
    }

    private static HostWeightStore Packing(long pinnedBytes, long transferGroupBytes = 16 << 10) =>
        new(new HostWeightStoreOptions(1L << 30) { PinnedCapacityBytes = pinnedBytes, PrepareForDevices = GraphRewrites.ForGpu, LockPages = false, TransferGroupBytes = transferGroupBytes });

    private static long PackedBytes(string model, long transferGroupBytes = 16 << 10)
    {
        var graph = GraphRewrites.Optimize(OnnxGraph.Read(ModelZoo.Build(model)));
        using var packed = PackedWeights.Pack(graph, transferGroupBytes, new PinnedMemoryBudget(1L << 30, lockPages: false), model);
        return packed.Layout.TotalBytes;
    }

    [Fact]
    public void Packs_a_model_for_devices_when_asked()
    {
        var store = Packing(1L << 30);

        store.Put("resnet", ModelZoo.Build("resnet50_tiny"));

        Assert.True(store.TryGetPacked("resnet", out var packed));
        Assert.Equal(PackedBytes("resnet50_tiny"), packed.Layout.TotalBytes);
        Assert.Equal(packed.Layout.TotalBytes, store.PinnedUsedBytes);
        Assert.True(packed.Layout.Groups.Count > 1);
        Assert.Null(store.PackingFailure("resnet"));
    }

    [Fact]
    public void Does_not_pack_without_the_option()
    {
        var store = new HostWeightStore(1L << 30);

        store.Put("resnet", ModelZoo.Build("resnet50_tiny"));

        Assert.False(store.TryGetPacked("resnet", out _));
        Assert.Equal(0, store.PinnedUsedBytes);
    }

    [Fact]
    public void The_pinned_cap_refuses_a_model_with_a_clear_message_and_leaves_the_store_unchanged()
    {
        var lenet = PackedBytes("lenet5");
        var store = Packing(lenet + 4096);
        store.Put("lenet", ModelZoo.Build("lenet5"));
        var used = store.UsedBytes;

        var error = Assert.Throws<HostMemoryException>(() => store.Put("resnet", ModelZoo.Build("resnet50_tiny")));

        Assert.Contains("'resnet'", error.Message);
        Assert.Contains($"{store.PinnedCapacityBytes}", error.Message);
        Assert.Contains("OrleansServe:PinnedMemoryBytes", error.Message);
        Assert.False(store.TryGet("resnet", out _));
        Assert.False(store.TryGetPacked("resnet", out _));
        Assert.Equal(1, store.Count);
        Assert.Equal(used, store.UsedBytes);
        Assert.Equal(lenet, store.PinnedUsedBytes);
    }

    [Fact]
    public void Replacing_or_removing_a_packed_model_frees_its_pinned_memory()
    {
        var store = Packing(1L << 30);
        store.Put("m", ModelZoo.Build("resnet50_tiny"));
        store.TryGetPacked("m", out var old);

        store.Put("m", ModelZoo.Build("lenet5"));

        Assert.True(old.IsFreed);
        Assert.Equal(PackedBytes("lenet5"), store.PinnedUsedBytes);
        store.Remove("m");
        Assert.Equal(0, store.PinnedUsedBytes);
        Assert.Equal(0, store.UsedBytes);
    }

    [Fact]
    public void A_lease_keeps_a_replaced_model_readable_until_it_is_released()
    {
        var store = Packing(1L << 30);
        store.Put("m", ModelZoo.Build("lenet5"));
        Assert.True(store.TryLeasePacked("m", out var old, out var lease));
        var firstGroup = old.Group(0).ToArray();

        store.Put("m", ModelZoo.Build("resnet50_tiny"));

        Assert.False(old.IsFreed);
        Assert.Equal(firstGroup, old.Group(0).ToArray());
        Assert.Equal(PackedBytes("lenet5") + PackedBytes("resnet50_tiny"), store.PinnedUsedBytes);
        lease.Dispose();
        Assert.True(old.IsFreed);
        Assert.Equal(PackedBytes("resnet50_tiny"), store.PinnedUsedBytes);
    }

    [Fact]
    public void A_model_the_gpu_engine_cannot_read_is_still_stored_for_the_cpu_device()
    {
        var store = Packing(1L << 30);
        byte[] notOnnx = [0x0a, 0x03, 0x61, 0x62, 0x63];

        store.Put("odd", notOnnx);

        Assert.True(store.TryGet("odd", out var bytes));
        Assert.Same(notOnnx, bytes);
        Assert.False(store.TryGetPacked("odd", out _));
        Assert.NotNull(store.PackingFailure("odd"));
        Assert.Equal(0, store.PinnedUsedBytes);
    }

    [Fact]
    public void Packed_groups_follow_the_configured_transfer_group_size()
    {
        var store = Packing(1L << 30, transferGroupBytes: 64 << 10);

        store.Put("bert", ModelZoo.Build("bert_base_tiny"));

        store.TryGetPacked("bert", out var packed);
        Assert.Equal(64 << 10, packed.Layout.TransferGroupBytes);
        Assert.All(packed.Layout.Groups, g => Assert.True(g.Bytes <= 64 << 10 || g.TensorCount == 1));
    }
}
