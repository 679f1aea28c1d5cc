namespace OrleansServe.Engine.UnitTests.Memory;

public sealed class DeviceArenaTests
{
    /// <summary>Device memory stood in for by a byte array; records every move.</summary>
    private sealed class ArrayMover(long bytes) : IArenaMover
    {
        public byte[] Memory { get; } = new byte[bytes];
        public List<(long From, long To, long Bytes)> Moves { get; } = [];

        public void Move(long fromOffset, long toOffset, long bytes)
        {
            Assert.True(toOffset < fromOffset);
            Moves.Add((fromOffset, toOffset, bytes));
            Memory.AsSpan(checked((int)fromOffset), checked((int)bytes)).CopyTo(Memory.AsSpan(checked((int)toOffset)));
        }
    }

    // The zoo's weight sizes in MB (lenet5 to vgg16), scaled from a 4 GB device into a 64 MB arena.
    private static readonly double[] ZooWeightMegabytes = [0.25, 14, 17, 26, 27, 91, 98, 110, 230, 420, 528];
    private const long ArenaBytes = 64L << 20;
    private const long Scale = 4096 / 64;

    [Fact]
    public void Never_fails_under_churn_while_live_size_leaves_room_for_the_largest_model()
    {
        var mover = new ArrayMover(ArenaBytes);
        var arena = new DeviceArena(ArenaBytes, mover);
        var sizes = ZooWeightMegabytes.Select(mb => (long)(mb * (1 << 20) / Scale)).ToArray();
        var largest = sizes.Max() + arena.AlignmentBytes;
        var noise = new byte[16L << 20];
        var random = new Random(11);
        random.NextBytes(noise);
        var live = new List<(ArenaBlock Block, int NoiseStart)>();
        var compactions = 0L;

        for (var step = 0; step < 10_000; step++)
        {
            var liveBytes = live.Sum(l => l.Block.Bytes);
            var roomForAny = liveBytes <= arena.CapacityBytes - largest;
            if (live.Count > 0 && (!roomForAny || random.Next(5) < 2))
            {
                var victim = random.Next(live.Count);
                arena.Free(live[victim].Block);
                live.RemoveAt(victim);
            }
            else
            {
                // Sizes jittered off the zoo's so blocks are not all multiples of each other.
                var bytes = Math.Max(1, sizes[random.Next(sizes.Length)] - random.Next(4096));
                Assert.True(arena.TryAllocate(bytes, out var block), $"step {step}: {bytes} bytes refused with {liveBytes} live of {arena.CapacityBytes}");
                var noiseStart = random.Next(noise.Length - (int)bytes);
                noise.AsSpan(noiseStart, (int)bytes).CopyTo(mover.Memory.AsSpan((int)block.Offset));
                live.Add((block, noiseStart));
            }

            var ordered = live.Select(l => l.Block).OrderBy(b => b.Offset).ToList();
            for (var i = 0; i < ordered.Count; i++)
            {
                Assert.True(ordered[i].Offset % arena.AlignmentBytes == 0);
                Assert.True(ordered[i].Offset + ordered[i].Bytes <= (i + 1 < ordered.Count ? ordered[i + 1].Offset : arena.CapacityBytes), $"step {step}: blocks overlap");
            }
            if (arena.Compactions != compactions)
            {
                compactions = arena.Compactions;
                foreach (var (block, noiseStart) in live)
                {
                    Assert.True(
                        mover.Memory.AsSpan((int)block.Offset, (int)block.RequestedBytes).SequenceEqual(noise.AsSpan(noiseStart, (int)block.RequestedBytes)),
                        $"step {step}: a block's contents did not survive compaction");
                }
            }
        }

        Assert.True(arena.Compactions > 0, "the churn never needed a compaction, so it tested nothing");
        Assert.Equal(live.Sum(l => l.Block.Bytes), arena.UsedBytes);
        Assert.Equal(live.Count, arena.Count);
    }

    [Fact]
    public void Compaction_slides_unpinned_blocks_down_and_never_moves_a_pinned_one()
    {
        var mover = new ArrayMover(1024);
        var arena = new DeviceArena(1024, 256, mover);
        var a = arena.Allocate(256);
        var b = arena.Allocate(256);
        var c = arena.Allocate(256);
        var d = arena.Allocate(200);
        arena.Free(a);
        arena.Free(c);
        d.Pin();

        var e = arena.Allocate(512);

        Assert.Equal(0, b.Offset);
        Assert.Equal(1, b.Version);
        Assert.Equal(768, d.Offset);
        Assert.Equal(0, d.Version);
        Assert.Equal(256, e.Offset);
        Assert.Equal([(256L, 0L, 256L)], mover.Moves);
        Assert.Equal(1, arena.Compactions);
        Assert.Equal(256, arena.BytesMoved);
        Assert.Equal(256, d.Bytes);
        Assert.Equal(200, d.RequestedBytes);
    }

    [Fact]
    public void Compaction_moves_only_as_much_as_the_allocation_needs()
    {
        var mover = new ArrayMover(2048);
        var arena = new DeviceArena(2048, 256, mover);
        var blocks = Enumerable.Range(0, 8).Select(_ => arena.Allocate(256)).ToList();
        arena.Free(blocks[0]);
        arena.Free(blocks[2]);
        arena.Free(blocks[7]);

        var placed = arena.Allocate(512);

        Assert.Equal(256, placed.Offset);
        Assert.Equal([(256L, 0L, 256L)], mover.Moves);
        Assert.Equal(256, arena.BytesMoved);
        Assert.All(blocks.Skip(3).Take(4), b => Assert.Equal(0, b.Version));
    }

    [Fact]
    public void Allocation_fails_without_throwing_when_pinned_blocks_leave_no_room()
    {
        var arena = new DeviceArena(1024, 256, new ArrayMover(1024));
        var a = arena.Allocate(256);
        var b = arena.Allocate(256);
        var c = arena.Allocate(256);
        var d = arena.Allocate(256);
        arena.Free(a);
        arena.Free(c);
        b.Pin();
        d.Pin();

        Assert.False(arena.TryAllocate(512, out _));
        var error = Assert.Throws<DeviceMemoryException>(() => arena.Allocate(512));

        Assert.Contains("512 bytes of device memory", error.Message);
        Assert.Contains("largest hole 256", error.Message);
        Assert.Contains("512 bytes are pinned", error.Message);
        Assert.Equal(0, arena.Compactions);
        Assert.Equal(256, b.Offset);
        b.Unpin();
        Assert.True(arena.TryAllocate(512, out var e));
        Assert.Equal(256, e.Offset);
    }

    [Fact]
    public void Refuses_more_than_is_free_without_moving_anything()
    {
        var mover = new ArrayMover(1024);
        var arena = new DeviceArena(1024, 256, mover);
        arena.Allocate(256);
        var freed = arena.Allocate(256);
        arena.Allocate(256);
        arena.Free(freed);

        Assert.False(arena.TryAllocate(768, out _));
        Assert.Empty(mover.Moves);
        Assert.Equal(512, arena.FreeBytes);
        Assert.Equal(256, arena.LargestHoleBytes);
    }

    [Fact]
    public void Refuses_a_double_free_a_foreign_block_and_freeing_a_pinned_block()
    {
        var arena = new DeviceArena(1024, new ArrayMover(1024));
        var other = new DeviceArena(1024, new ArrayMover(1024));
        var block = arena.Allocate(100);
        var foreign = other.Allocate(100);

        Assert.Throws<InvalidOperationException>(() => arena.Free(foreign));
        block.Pin();
        Assert.Throws<InvalidOperationException>(() => arena.Free(block));
        block.Unpin();
        Assert.Throws<InvalidOperationException>(() => block.Unpin());
        arena.Free(block);
        Assert.False(block.IsLive);
        Assert.Throws<InvalidOperationException>(() => arena.Free(block));
        Assert.Throws<InvalidOperationException>(() => block.Pin());
        Assert.Equal(0, arena.UsedBytes);
        Assert.Equal(0, arena.Count);
    }

    [Fact]
    public void Rounds_blocks_up_to_the_alignment_and_the_capacity_down_to_it()
    {
        var arena = new DeviceArena(1000, new ArrayMover(1000));

        Assert.Equal(768, arena.CapacityBytes);
        Assert.Equal(256, arena.Allocate(1).Bytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => arena.TryAllocate(0, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DeviceArena(1024, 100, new ArrayMover(1024)));
    }
}
