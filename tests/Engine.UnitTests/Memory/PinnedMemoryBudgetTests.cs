namespace OrleansServe.Engine.UnitTests.Memory;

public sealed class PinnedMemoryBudgetTests
{
    [Fact]
    public void Refuses_an_allocation_over_the_cap_naming_the_model_the_bytes_and_the_setting()
    {
        var budget = new PinnedMemoryBudget(10_000, lockPages: false);
        using var held = budget.Allocate("a", 6_000);

        var error = Assert.Throws<HostMemoryException>(() => budget.Allocate("bert", 5_000));

        Assert.Contains("'bert'", error.Message);
        Assert.Contains("5000", error.Message);
        Assert.Contains("4000", error.Message);
        Assert.Contains("10000", error.Message);
        Assert.Contains("OrleansServe:PinnedMemoryBytes", error.Message);
        Assert.Equal(6_000, budget.UsedBytes);
    }

    [Fact]
    public void Disposing_a_buffer_returns_its_bytes_once()
    {
        var budget = new PinnedMemoryBudget(10_000, lockPages: false);
        var buffer = budget.Allocate("a", 6_000);

        buffer.Dispose();
        buffer.Dispose();

        Assert.Equal(0, budget.UsedBytes);
        using var again = budget.Allocate("b", 10_000);
        Assert.Equal(10_000, budget.UsedBytes);
    }

    [Fact]
    public void Concurrent_allocations_never_pass_the_cap()
    {
        var budget = new PinnedMemoryBudget(64 * 4096, lockPages: false);
        var refused = 0;
        Parallel.For(0, 2_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            try
            {
                using var buffer = budget.Allocate($"m{i}", 4096 * (1 + (i % 8)));
                Assert.True(budget.UsedBytes <= budget.CapacityBytes);
            }
            catch (HostMemoryException)
            {
                Interlocked.Increment(ref refused);
            }
        });

        Assert.Equal(0, budget.UsedBytes);
    }

    [Fact]
    public void Registers_every_buffer_with_the_given_registrar()
    {
        var registrar = new PinnedHostBufferTests.RecordingRegistrar();
        var budget = new PinnedMemoryBudget(1 << 20, registrar, lockPages: false);

        using var buffer = budget.Allocate("a", 4096);

        Assert.True(buffer.IsRegistered);
        Assert.Single(registrar.Registered);
    }
}
