using System.Runtime.InteropServices;

namespace OrleansServe.Engine.Memory;

/// <summary>
/// A native host allocation, page aligned and zeroed, that is page locked (mlock) where the operating system allows
/// and registered with a device driver where a registrar is given, so swap-ins copy from it without staging.
/// Locking is best effort: a process over RLIMIT_MEMLOCK still gets the memory, with <see cref="IsPageLocked"/> false.
/// </summary>
public sealed unsafe partial class PinnedHostBuffer : IDisposable
{
    /// <summary>Alignment of <see cref="Pointer"/>: one page on every platform the server runs on.</summary>
    public const int PageBytes = 4096;

    private readonly IHostMemoryRegistrar? registrar;
    private readonly Action<PinnedHostBuffer>? onDispose;
    private readonly byte* start;
    private int disposed;

    /// <summary>Allocates <paramref name="length"/> zeroed bytes; see <see cref="PinnedMemoryBudget"/> for a capped allocator.</summary>
    /// <param name="length">Bytes to allocate (zero is allowed).</param>
    /// <param name="registrar">Driver registration, or null for none.</param>
    /// <param name="lockPages">Whether to try mlock.</param>
    public PinnedHostBuffer(long length, IHostMemoryRegistrar? registrar = null, bool lockPages = true)
        : this(length, registrar, lockPages, onDispose: null)
    {
    }

    internal PinnedHostBuffer(long length, IHostMemoryRegistrar? registrar, bool lockPages, Action<PinnedHostBuffer>? onDispose)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        this.onDispose = onDispose;
        // A zero-length buffer still owns one page so Pointer is a real, unique address.
        var allocated = (nuint)Math.Max(length, 1);
        start = (byte*)NativeMemory.AlignedAlloc(allocated, PageBytes);
        NativeMemory.Clear(start, allocated);
        if (!lockPages)
        {
            LockFailure = "page locking was not requested";
        }
        else if (!OperatingSystem.IsLinux())
        {
            LockFailure = "page locking is only attempted on Linux";
        }
        else if (length > 0)
        {
            if (mlock((IntPtr)start, (nuint)length) == 0)
            {
                IsPageLocked = true;
            }
            else
            {
                var errno = Marshal.GetLastPInvokeError();
                LockFailure = $"mlock failed with errno {errno} ({Marshal.GetPInvokeErrorMessage(errno)}); raise RLIMIT_MEMLOCK (ulimit -l) to lock model weights";
            }
        }
        if (registrar is not null && length > 0)
        {
            bool registered;
            string? failure;
            try
            {
                registered = registrar.TryRegister((IntPtr)start, length, out failure);
            }
            catch (Exception e)
            {
                // The memory is still usable unregistered (copies are staged by the driver); say why it is not registered.
                registered = false;
                failure = $"registration threw: {e.Message}";
            }
            if (registered)
            {
                this.registrar = registrar;
                IsRegistered = true;
            }
            else
            {
                RegistrationFailure = failure ?? "the registrar refused the range";
            }
        }
    }

    /// <summary>Start of the allocation, aligned to <see cref="PageBytes"/>.</summary>
    public IntPtr Pointer => (IntPtr)start;

    /// <summary>Usable bytes.</summary>
    public long Length { get; }

    /// <summary>True when mlock succeeded: the pages cannot be swapped out.</summary>
    public bool IsPageLocked { get; private set; }

    /// <summary>Why the pages are not locked, or null when they are.</summary>
    public string? LockFailure { get; }

    /// <summary>True when the registrar accepted the range.</summary>
    public bool IsRegistered { get; private set; }

    /// <summary>Why the registrar refused the range, or null.</summary>
    public string? RegistrationFailure { get; }

    /// <summary>Why the registrar could not unregister the range when the buffer was disposed, or null.</summary>
    public string? UnregistrationFailure { get; private set; }

    /// <summary>True once disposed (the memory is freed).</summary>
    public bool IsDisposed => Volatile.Read(ref disposed) != 0;

    /// <summary>A byte range of the buffer.</summary>
    public Span<byte> Bytes(long offset, int length)
    {
        CheckRange(offset, length, sizeof(byte));
        return new Span<byte>(start + offset, length);
    }

    /// <summary>A float range of the buffer, in elements from its start.</summary>
    public Span<float> Floats(long offsetElements, int count)
    {
        CheckRange(offsetElements, count, sizeof(float));
        return new Span<float>((float*)start + offsetElements, count);
    }

    /// <summary>Unregisters, unlocks and frees the memory; later calls do nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        if (IsRegistered)
        {
            IsRegistered = false;
            // A driver that fails to unregister must not leak the memory or the budget's bytes: the failure is kept.
            if (!registrar!.TryUnregister((IntPtr)start, out var failure))
            {
                UnregistrationFailure = failure ?? "the registrar could not unregister the range";
            }
        }
        if (IsPageLocked)
        {
            _ = munlock((IntPtr)start, (nuint)Length);
            IsPageLocked = false;
        }
        NativeMemory.AlignedFree(start);
        onDispose?.Invoke(this);
    }

    private void CheckRange(long offset, int count, int elementBytes)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((offset + count) * elementBytes > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"range [{offset}, {offset + count}) of {elementBytes}-byte elements passes the end of a {Length}-byte buffer");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int mlock(IntPtr address, nuint length);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int munlock(IntPtr address, nuint length);
}
