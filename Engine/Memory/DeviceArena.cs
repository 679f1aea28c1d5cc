using OrleansServe.Engine.Execution;

namespace OrleansServe.Engine.Memory;

/// <summary>
/// Copies bytes inside the device memory an arena manages, for compaction. The ranges may overlap
/// (<paramref name="toOffset"/> is always below <paramref name="fromOffset"/>); the mover must copy so that overlap is safe.
/// </summary>
public interface IArenaMover
{
    /// <summary>Moves <paramref name="bytes"/> from <paramref name="fromOffset"/> down to <paramref name="toOffset"/>.</summary>
    void Move(long fromOffset, long toOffset, long bytes);
}

/// <summary>
/// A range of an arena that one owner holds (a model's weights, a workspace). Its <see cref="Offset"/> changes when
/// the arena compacts; <see cref="Version"/> counts moves so owners rebind their views. A pinned block never moves.
/// </summary>
public sealed class ArenaBlock
{
    private readonly DeviceArena arena;

    internal ArenaBlock(DeviceArena arena, long offset, long bytes, long requestedBytes)
    {
        this.arena = arena;
        Offset = offset;
        Bytes = bytes;
        RequestedBytes = requestedBytes;
    }

    /// <summary>Byte offset in the arena; changes when the block is moved.</summary>
    public long Offset { get; internal set; }

    /// <summary>Bytes reserved (the request rounded up to the arena's alignment).</summary>
    public long Bytes { get; }

    /// <summary>Bytes asked for.</summary>
    public long RequestedBytes { get; }

    /// <summary>Incremented on every move.</summary>
    public int Version { get; internal set; }

    /// <summary>True while at least one pin is held.</summary>
    public bool IsPinned => Pins > 0;

    /// <summary>True until the block is freed.</summary>
    public bool IsLive { get; internal set; } = true;

    internal int Pins { get; set; }

    internal long End => Offset + Bytes;

    /// <summary>Keeps the block where it is (a kernel may be reading it) until a matching <see cref="Unpin"/>.</summary>
    public void Pin() => arena.Pin(this);

    /// <summary>Releases one pin.</summary>
    public void Unpin() => arena.Unpin(this);
}

/// <summary>
/// The device memory manager's allocator over one region reserved at start: first fit over holes in address order,
/// and when no hole fits but the free total does, compaction that slides unpinned blocks toward offset zero, so
/// churn of models of mixed sizes never fragments the region into failure. Pure accounting; the bytes are moved by
/// an <see cref="IArenaMover"/>. Thread-safe: one lock, and the mover runs under it.
/// </summary>
public sealed class DeviceArena
{
    /// <summary>Alignment used when none is given: what cudaMalloc guarantees.</summary>
    public const long DefaultAlignmentBytes = 256;

    private readonly Lock gate = new();
    private readonly List<ArenaBlock> blocks = [];
    private readonly IArenaMover mover;
    private long usedBytes;
    private long compactions;
    private long bytesMoved;

    /// <summary>An arena with the default alignment.</summary>
    public DeviceArena(long capacityBytes, IArenaMover mover)
        : this(capacityBytes, DefaultAlignmentBytes, mover)
    {
    }

    /// <summary>An arena over <paramref name="capacityBytes"/> (rounded down to the alignment).</summary>
    /// <param name="capacityBytes">Bytes of the reserved region.</param>
    /// <param name="alignmentBytes">Every block starts and ends at a multiple of this power of two.</param>
    /// <param name="mover">Copies bytes when blocks move.</param>
    public DeviceArena(long capacityBytes, long alignmentBytes, IArenaMover mover)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacityBytes);
        if (alignmentBytes <= 0 || (alignmentBytes & (alignmentBytes - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(alignmentBytes), $"alignment {alignmentBytes} is not a positive power of two");
        }
        ArgumentNullException.ThrowIfNull(mover);
        AlignmentBytes = alignmentBytes;
        CapacityBytes = capacityBytes / alignmentBytes * alignmentBytes;
        this.mover = mover;
    }

    /// <summary>Usable bytes.</summary>
    public long CapacityBytes { get; }

    /// <summary>Block alignment.</summary>
    public long AlignmentBytes { get; }

    /// <summary>Bytes held by live blocks.</summary>
    public long UsedBytes
    {
        get
        {
            lock (gate)
            {
                return usedBytes;
            }
        }
    }

    /// <summary>Bytes not held by any block.</summary>
    public long FreeBytes => CapacityBytes - UsedBytes;

    /// <summary>The largest contiguous free range.</summary>
    public long LargestHoleBytes
    {
        get
        {
            lock (gate)
            {
                return Holes().Select(h => h.Bytes).DefaultIfEmpty(0).Max();
            }
        }
    }

    /// <summary>Compactions run so far.</summary>
    public long Compactions
    {
        get
        {
            lock (gate)
            {
                return compactions;
            }
        }
    }

    /// <summary>Bytes moved by compactions so far.</summary>
    public long BytesMoved
    {
        get
        {
            lock (gate)
            {
                return bytesMoved;
            }
        }
    }

    /// <summary>Live blocks.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return blocks.Count;
            }
        }
    }

    /// <summary>Allocates a block, compacting when no hole fits; false when even compaction cannot make room (pinned blocks in the way, or too little free).</summary>
    public bool TryAllocate(long bytes, out ArenaBlock block)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var size = Align(bytes);
        lock (gate)
        {
            if (size <= CapacityBytes - usedBytes && (TryPlace(size, bytes, out block) || (Compact(size) && TryPlace(size, bytes, out block))))
            {
                return true;
            }
        }
        block = null!;
        return false;
    }

    /// <summary>Allocates a block, compacting when no hole fits.</summary>
    /// <exception cref="DeviceMemoryException">No room can be made; the message says how much is free and how much is pinned.</exception>
    public ArenaBlock Allocate(long bytes)
    {
        if (TryAllocate(bytes, out var block))
        {
            return block;
        }
        lock (gate)
        {
            var pinned = blocks.Where(b => b.IsPinned).Sum(b => b.Bytes);
            var largest = Holes().Select(h => h.Bytes).DefaultIfEmpty(0).Max();
            throw new DeviceMemoryException(
                $"{Align(bytes)} bytes of device memory are needed; {CapacityBytes - usedBytes} of the {CapacityBytes}-byte arena are free (largest hole {largest} bytes) and {pinned} bytes are pinned by running kernels");
        }
    }

    /// <summary>Returns a block's bytes to the arena.</summary>
    /// <exception cref="InvalidOperationException">The block was freed already, belongs to another arena, or is pinned.</exception>
    public void Free(ArenaBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        lock (gate)
        {
            var index = IndexOf(block);
            if (block.IsPinned)
            {
                throw new InvalidOperationException($"the block at offset {block.Offset} is pinned: a kernel may still be reading it");
            }
            blocks.RemoveAt(index);
            block.IsLive = false;
            usedBytes -= block.Bytes;
        }
    }

    internal void Pin(ArenaBlock block)
    {
        lock (gate)
        {
            IndexOf(block);
            block.Pins++;
        }
    }

    internal void Unpin(ArenaBlock block)
    {
        lock (gate)
        {
            IndexOf(block);
            if (block.Pins == 0)
            {
                throw new InvalidOperationException($"the block at offset {block.Offset} is not pinned");
            }
            block.Pins--;
        }
    }

    private int IndexOf(ArenaBlock block)
    {
        if (!block.IsLive)
        {
            throw new InvalidOperationException("the block was freed already");
        }
        var index = blocks.BinarySearch(block, OffsetOrder.Instance);
        if (index < 0 || !ReferenceEquals(blocks[index], block))
        {
            throw new InvalidOperationException("the block belongs to another arena");
        }
        return index;
    }

    private bool TryPlace(long size, long requested, out ArenaBlock block)
    {
        long start = 0;
        for (var i = 0; i <= blocks.Count; i++)
        {
            var end = i < blocks.Count ? blocks[i].Offset : CapacityBytes;
            if (end - start >= size)
            {
                block = new ArenaBlock(this, start, size, requested);
                blocks.Insert(i, block);
                usedBytes += size;
                return true;
            }
            if (i < blocks.Count)
            {
                start = blocks[i].End;
            }
        }
        block = null!;
        return false;
    }

    /// <summary>
    /// Slides unpinned blocks down in address order until a hole of <paramref name="size"/> opens (moving no more
    /// than that needs); pinned blocks stay and later blocks pack above them. True when anything moved.
    /// </summary>
    private bool Compact(long size)
    {
        long cursor = 0;
        var moved = false;
        foreach (var block in blocks)
        {
            if (block.Offset - cursor >= size)
            {
                break;
            }
            if (!block.IsPinned && block.Offset > cursor)
            {
                mover.Move(block.Offset, cursor, block.Bytes);
                block.Offset = cursor;
                block.Version++;
                bytesMoved += block.Bytes;
                moved = true;
            }
            cursor = block.End;
        }
        if (moved)
        {
            compactions++;
        }
        return moved;
    }

    private IEnumerable<(long Offset, long Bytes)> Holes()
    {
        long start = 0;
        foreach (var block in blocks)
        {
            if (block.Offset > start)
            {
                yield return (start, block.Offset - start);
            }
            start = block.End;
        }
        if (CapacityBytes > start)
        {
            yield return (start, CapacityBytes - start);
        }
    }

    private long Align(long bytes) => (bytes + AlignmentBytes - 1) / AlignmentBytes * AlignmentBytes;

    private sealed class OffsetOrder : IComparer<ArenaBlock>
    {
        public static readonly OffsetOrder Instance = new();

        public int Compare(ArenaBlock? x, ArenaBlock? y) => x!.Offset.CompareTo(y!.Offset);
    }
}
