using OrleansServe.Engine.Execution;

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
}
