namespace OrleansServe.Engine.Memory;

/// <summary>
/// Registers host memory with a device driver so copies from it run as DMA without a staging copy
/// (cuMemHostRegister on CUDA). Implemented by the device layer; the memory classes only call it.
/// </summary>
public interface IHostMemoryRegistrar
{
    /// <summary>Registers a range; false (with the driver's reason in <paramref name="failure"/>) when the driver refuses it.</summary>
    bool TryRegister(IntPtr pointer, long bytes, out string? failure);

    /// <summary>
    /// Unregisters a range registered earlier by <see cref="TryRegister"/>. Never throws: memory is freed after it
    /// either way. True when the range is no longer registered (a range the driver already released counts);
    /// false with the driver's reason in <paramref name="failure"/> otherwise.
    /// </summary>
    bool TryUnregister(IntPtr pointer, out string? failure);
}
