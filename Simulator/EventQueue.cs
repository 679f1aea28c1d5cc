namespace OrleansServe.Simulator;

/// <summary>
/// A binary min-heap of (time, target) events; ties in time pop in insertion order so runs are deterministic.
/// Structs in one array: pushing and popping allocate nothing once the array has grown.
/// </summary>
internal sealed class EventQueue
{
    private Entry[] heap = new Entry[64];
    private long sequence;

    public int Count { get; private set; }

    public double PeekTime => heap[0].Time;

    public void Push(double time, int target)
    {
        if (Count == heap.Length)
        {
            Array.Resize(ref heap, heap.Length * 2);
        }
        var entry = new Entry(time, sequence++, target);
        var i = Count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Before(entry, heap[parent]))
            {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = entry;
    }

    public (double Time, int Target) Pop()
    {
        var top = heap[0];
        var last = heap[--Count];
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= Count)
            {
                break;
            }
            if (child + 1 < Count && Before(heap[child + 1], heap[child]))
            {
                child++;
            }
            if (!Before(heap[child], last))
            {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        if (Count > 0)
        {
            heap[i] = last;
        }
        return (top.Time, top.Target);
    }

    private static bool Before(in Entry a, in Entry b) => a.Time < b.Time || (a.Time == b.Time && a.Sequence < b.Sequence);

    private readonly record struct Entry(double Time, long Sequence, int Target);
}
