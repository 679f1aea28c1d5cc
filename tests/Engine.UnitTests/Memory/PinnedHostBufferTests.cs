namespace OrleansServe.Engine.UnitTests.Memory;

public sealed class PinnedHostBufferTests
{
    internal sealed class RecordingRegistrar(bool accept = true) : IHostMemoryRegistrar
    {
        public List<(IntPtr Pointer, long Bytes)> Registered { get; } = [];
        public List<IntPtr> Unregistered { get; } = [];

        public bool TryRegister(IntPtr pointer, long bytes, out string? failure)
        {
            failure = accept ? null : "driver says no";
            if (accept)
            {
                Registered.Add((pointer, bytes));
            }
            return accept;
        }

        public bool TryUnregister(IntPtr pointer, out string? failure)
        {
            Unregistered.Add(pointer);
            failure = null;
            return true;
        }
    }

    [Fact]
    public void Is_page_aligned_and_zeroed()
    {
        using var buffer = new PinnedHostBuffer(10_000);

        Assert.Equal(0, buffer.Pointer % PinnedHostBuffer.PageBytes);
        Assert.Equal(10_000, buffer.Length);
        Assert.All(buffer.Bytes(0, 10_000).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Byte_and_float_views_see_the_same_memory()
    {
        using var buffer = new PinnedHostBuffer(64);
        buffer.Floats(3, 1)[0] = 1.0f;

        Assert.Equal(BitConverter.GetBytes(1.0f), buffer.Bytes(12, 4).ToArray());
    }

    [Fact]
    public void Either_locks_its_pages_or_says_why_not()
    {
        using var buffer = new PinnedHostBuffer(PinnedHostBuffer.PageBytes);

        Assert.True(buffer.IsPageLocked != (buffer.LockFailure is not null), buffer.LockFailure);
    }

    [Fact]
    public void Does_not_lock_pages_when_not_asked()
    {
        using var buffer = new PinnedHostBuffer(PinnedHostBuffer.PageBytes, lockPages: false);

        Assert.False(buffer.IsPageLocked);
        Assert.NotNull(buffer.LockFailure);
    }

    [Fact]
    public void Registers_with_the_driver_and_unregisters_once_on_dispose()
    {
        var registrar = new RecordingRegistrar();
        var buffer = new PinnedHostBuffer(8192, registrar);

        Assert.True(buffer.IsRegistered);
        Assert.Equal([(buffer.Pointer, 8192L)], registrar.Registered);
        var pointer = buffer.Pointer;
        buffer.Dispose();
        buffer.Dispose();

        Assert.Equal([pointer], registrar.Unregistered);
        Assert.False(buffer.IsRegistered);
        Assert.True(buffer.IsDisposed);
    }

    [Fact]
    public void A_refused_registration_still_gives_usable_memory_and_says_why()
    {
        using var buffer = new PinnedHostBuffer(4096, new RecordingRegistrar(accept: false));

        Assert.False(buffer.IsRegistered);
        Assert.Equal("driver says no", buffer.RegistrationFailure);
        buffer.Bytes(0, 4096).Fill(7);
    }

    [Fact]
    public void Refuses_views_past_the_end_or_after_dispose()
    {
        var buffer = new PinnedHostBuffer(16);

        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Floats(1, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => buffer.Bytes(-1, 1));
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => buffer.Bytes(0, 1));
    }
}
