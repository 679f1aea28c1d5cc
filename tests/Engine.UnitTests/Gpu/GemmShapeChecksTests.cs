namespace OrleansServe.Engine.UnitTests.Gpu;

public sealed class GemmShapeChecksTests
{
    [Fact]
    public void Required_lengths_reach_the_end_of_the_last_batch()
    {
        var shape = new GemmShape(M: 2, N: 3, K: 4, Batch: 3, StrideA: 10, StrideB: 0, StrideC: 6);

        Assert.Equal((28L, 12L, 18L), shape.RequiredLengths());
    }

    [Fact]
    public void An_empty_inner_dimension_needs_no_input()
    {
        Assert.Equal((0L, 0L, 6L), new GemmShape(M: 2, N: 3, K: 0).RequiredLengths());
    }

    [Fact]
    public void Rejects_a_view_shorter_than_the_shape_needs()
    {
        var shape = new GemmShape(M: 2, N: 3, K: 4);

        var error = Assert.Throws<ArgumentException>(() => shape.Validate(8, 12, 5));

        Assert.Contains("C=6", error.Message);
    }

    [Fact]
    public void Rejects_batched_outputs_that_overlap()
    {
        var shape = new GemmShape(M: 2, N: 3, K: 4, Batch: 2, StrideA: 8, StrideB: 12, StrideC: 5);

        Assert.Throws<ArgumentException>(() => shape.Validate(100, 100, 100));
    }

    [Fact]
    public void Accepts_an_operand_shared_by_the_whole_batch()
    {
        var shape = new GemmShape(M: 2, N: 3, K: 4, Batch: 4, StrideA: 8, StrideB: 0, StrideC: 6);

        shape.Validate(32, 12, 24);
    }

    [Theory]
    [InlineData(-1, 1, 1, 1)]
    [InlineData(1, 1, 1, 0)]
    public void Rejects_negative_sizes_and_empty_batches(int m, int n, int k, int batch)
    {
        Assert.Throws<ArgumentException>(() => new GemmShape(m, n, k, Batch: batch).Validate(100, 100, 100));
    }
}
