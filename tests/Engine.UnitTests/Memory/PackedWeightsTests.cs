namespace OrleansServe.Engine.UnitTests.Memory;

public sealed class PackedWeightsTests
{
    private const long Target = 16 << 10;

    private static OnnxGraph Optimized(string model) => GraphRewrites.Optimize(OnnxGraph.Read(ModelZoo.Build(model)));

    private static List<string> WeightsInFirstUseOrder(OnnxGraph graph) =>
        [.. graph.Nodes.SelectMany(n => n.Inputs)
            .Where(name => graph.Initializers.TryGetValue(name, out var t) && !t.IsInteger)
            .Distinct()];

    [Theory]
    [InlineData("resnet50_tiny")]
    [InlineData("bert_base_tiny")]
    [InlineData("lenet5")]
    public void Groups_carry_every_weight_exactly_once_in_first_use_order(string model)
    {
        var graph = Optimized(model);
        using var packed = PackedWeights.Pack(graph, Target, new PinnedMemoryBudget(1L << 30, lockPages: false), model);

        var expected = WeightsInFirstUseOrder(graph);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, packed.Layout.Tensors.Select(t => t.Name));
        var grouped = packed.Layout.Tensors.GroupBy(t => t.Group).ToList();
        Assert.Equal(packed.Layout.Groups.Count, grouped.Count);
        foreach (var group in packed.Layout.Groups)
        {
            var members = packed.Layout.Tensors.Where(t => t.Group == group.Index).ToList();
            Assert.Equal(group.FirstTensor, members[0].Name);
            Assert.Equal(group.LastTensor, members[^1].Name);
            Assert.True(group.Bytes <= Target || members.Count == 1, $"group {group.Index} has {group.Bytes} bytes in {members.Count} tensors");
        }
        Assert.True(packed.Layout.Tensors.Zip(packed.Layout.Tensors.Skip(1)).All(p => p.First.Group <= p.Second.Group));
    }

    [Fact]
    public void Packs_each_weight_at_its_layout_offset()
    {
        var graph = Optimized("resnet50_tiny");
        using var packed = PackedWeights.Pack(graph, Target, new PinnedMemoryBudget(1L << 30, lockPages: false), "resnet50_tiny");

        foreach (var slot in packed.Layout.Tensors)
        {
            Assert.Equal(graph.Initializers[slot.Name].Floats, packed.Tensor(slot.Name).ToArray());
            var group = packed.Layout.Groups[slot.Group];
            var inGroup = packed.Group(slot.Group).Slice((int)(slot.OffsetElements - group.OffsetElements), (int)slot.Elements);
            Assert.Equal(graph.Initializers[slot.Name].Floats, inGroup.ToArray());
        }
        Assert.Equal(packed.Buffer.Pointer + (nint)(packed.Layout.Groups[^1].OffsetElements * sizeof(float)), packed.GroupPointer(packed.Layout.Groups.Count - 1));
    }

    [Fact]
    public void A_node_needs_the_highest_group_among_its_weights()
    {
        var graph = Optimized("resnet50_tiny");
        using var packed = PackedWeights.Pack(graph, Target, new PinnedMemoryBudget(1L << 30, lockPages: false), "resnet50_tiny");

        foreach (var node in graph.Nodes)
        {
            var groups = node.Inputs.Where(i => packed.Layout.TryGetSlot(i, out _)).Select(i => packed.Layout.GroupOf(i).Index).ToList();
            Assert.Equal(groups.Count == 0 ? -1 : groups.Max(), packed.GroupNeededBy(node));
        }
        Assert.Contains(graph.Nodes, n => packed.GroupNeededBy(n) == -1);
        Assert.Equal(packed.Layout.Groups.Count - 1, graph.Nodes.Max(packed.GroupNeededBy));
    }

    [Fact]
    public void A_lease_keeps_the_buffer_readable_after_the_owner_disposes_it()
    {
        var budget = new PinnedMemoryBudget(1L << 30, lockPages: false);
        var graph = Optimized("lenet5");
        var packed = PackedWeights.Pack(graph, Target, budget, "lenet5");
        var first = packed.Layout.Tensors[0].Name;
        var lease = packed.Lease();

        packed.Dispose();

        Assert.False(packed.IsFreed);
        Assert.Equal(graph.Initializers[first].Floats, packed.Tensor(first).ToArray());
        Assert.False(packed.TryLease(out _));
        Assert.Throws<ObjectDisposedException>(() => packed.Lease());
        lease.Dispose();
        lease.Dispose();
        Assert.True(packed.IsFreed);
        Assert.Equal(0, budget.UsedBytes);
    }

    [Fact]
    public void Over_the_pinned_cap_packs_nothing()
    {
        var budget = new PinnedMemoryBudget(4096, lockPages: false);

        var error = Assert.Throws<HostMemoryException>(() => PackedWeights.Pack(Optimized("lenet5"), Target, budget, "lenet5"));

        Assert.Contains("'lenet5'", error.Message);
        Assert.Equal(0, budget.UsedBytes);
    }
}
