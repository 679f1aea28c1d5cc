using ILGPU;
using ILGPU.Runtime;
using OrleansServe.Engine.UnitTests.Planning;

namespace OrleansServe.Engine.UnitTests.Gpu;

[Collection(IlgpuCpuCollection.Name)]
public sealed class ReservedDeviceMemoryTests(IlgpuCpuDevice device)
{
    [Theory]
    [InlineData(1024, 1000, 4096)] // overlapping by most of the range: many chunks
    [InlineData(4096, 0, 4096)] // adjacent: one chunk
    [InlineData(8, 0, 4000)]
    public void Moving_a_range_down_over_itself_keeps_every_value(int fromFloat, int toFloat, int floats)
    {
        var moved = device.Worker.Run(d =>
        {
            using var memory = new ReservedDeviceMemory(d, 64 << 10);
            var block = memory.Arena.Allocate(memory.CapacityBytes);
            var values = Enumerable.Range(0, floats).Select(i => (float)i).ToArray();
            memory.View(block, fromFloat, floats).CopyFromCPU(d.Stream, values);
            d.Synchronize();

            memory.Move(fromFloat * 4L, toFloat * 4L, floats * 4L);

            var back = new float[floats];
            memory.View(block, toFloat, floats).CopyToCPU(d.Stream, back);
            d.Synchronize();
            return back;
        });

        Assert.Equal(Enumerable.Range(0, floats).Select(i => (float)i), moved);
    }

    [Fact]
    public void A_host_registrar_without_a_driver_refuses_with_the_reason()
    {
        if (!CudaDriver.DescribeDriverLibrary().StartsWith("not found", StringComparison.Ordinal))
        {
            return; // a CUDA machine: registration needs a context, which the GPU benchmark covers
        }
        var buffer = GC.AllocateArray<byte>(4096, pinned: true);

        var registered = new CudaHostRegistrar().TryRegister(System.Runtime.InteropServices.Marshal.UnsafeAddrOfPinnedArrayElement(buffer, 0), buffer.Length, out var failure);

        Assert.False(registered);
        Assert.Contains("the CUDA driver library does not load", failure);
    }
}
