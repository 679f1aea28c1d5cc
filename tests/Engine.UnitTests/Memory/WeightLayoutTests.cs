namespace OrleansServe.Engine.UnitTests.Memory;

public sealed class WeightLayoutTests
{
    private const long Target = 4096; // 1024 floats

    [Fact]
    public void Aligns_every_tensor_to_64_floats_in_the_given_order()
    {
        var layout = WeightLayout.Create([("w0", 10), ("b0", 64), ("w1", 65)], Target);

        Assert.Equal(0, layout.OffsetOf("w0"));
        Assert.Equal(64, layout.OffsetOf("b0"));
        Assert.Equal(128, layout.OffsetOf("w1"));
        Assert.Equal(256, layout.TotalElements);
        Assert.Equal(1024, layout.TotalBytes);
        Assert.Equal(["w0", "b0", "w1"], layout.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Closes_a_group_when_the_next_tensor_would_pass_the_target()
    {
        var layout = WeightLayout.Create([("a", 512), ("b", 512), ("c", 1), ("d", 1000)], Target);

        Assert.Equal(3, layout.Groups.Count);
        Assert.Equal(new TransferGroup(0, 0, 1024, "a", "b", 2), layout.Groups[0]);
        Assert.Equal(new TransferGroup(1, 1024, 64, "c", "c", 1), layout.Groups[1]);
        Assert.Equal(new TransferGroup(2, 1088, 1024, "d", "d", 1), layout.Groups[2]);
        Assert.Equal(2, layout.GroupOf("d").Index);
        Assert.Equal(4096, layout.Groups[0].Bytes);
    }

    [Fact]
    public void A_tensor_larger_than_the_target_is_a_group_alone()
    {
        var layout = WeightLayout.Create([("small", 64), ("huge", 5000), ("tail", 64)], Target);

        Assert.Equal(["small", "huge", "tail"], layout.Groups.Select(g => g.FirstTensor));
        Assert.All(layout.Groups, g => Assert.Equal(1, g.TensorCount));
        Assert.True(layout.GroupOf("huge").Bytes > Target);
    }

    [Fact]
    public void Groups_tile_the_packed_weights_without_gaps()
    {
        var random = new Random(3);
        var tensors = Enumerable.Range(0, 200).Select(i => ($"t{i}", (long)random.Next(0, 3000))).ToList();

        var layout = WeightLayout.Create(tensors, 8192);

        long expected = 0;
        foreach (var group in layout.Groups)
        {
            Assert.Equal(expected, group.OffsetElements);
            Assert.True(group.Bytes <= 8192 || group.TensorCount == 1);
            expected += group.LengthElements;
        }
        Assert.Equal(layout.TotalElements, expected);
        Assert.Equal(200, layout.Groups.Sum(g => g.TensorCount));
    }

    [Fact]
    public void An_empty_model_has_no_groups()
    {
        var layout = WeightLayout.Create([], Target);

        Assert.Empty(layout.Groups);
        Assert.Equal(0, layout.TotalBytes);
    }

    [Fact]
    public void Refuses_a_repeated_name_a_negative_count_or_a_target_under_a_page()
    {
        Assert.Throws<ArgumentException>(() => WeightLayout.Create([("w", 1), ("w", 2)], Target));
        Assert.Throws<ArgumentException>(() => WeightLayout.Create([("w", -1)], Target));
        Assert.Throws<ArgumentOutOfRangeException>(() => WeightLayout.Create([("w", 1)], 4095));
        Assert.Throws<KeyNotFoundException>(() => WeightLayout.Create([("w", 1)], Target).OffsetOf("x"));
    }
}
