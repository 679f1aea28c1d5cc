namespace OrleansServe.Simulator;

/// <summary>A FIFO of arrival times (ms) in a growable ring; allocation-free once grown to the run's deepest backlog.</summary>
internal sealed class RequestQueue
{
    private double[] items = new double[16];
    private int head;

    public int Count { get; private set; }

    public double Head => items[head];

    public void Enqueue(double arrivalMs)
    {
        if (Count == items.Length)
        {
            var grown = new double[items.Length * 2];
            for (var i = 0; i < Count; i++)
            {
                grown[i] = items[(head + i) & (items.Length - 1)];
            }
            items = grown;
            head = 0;
        }
        items[(head + Count) & (items.Length - 1)] = arrivalMs;
        Count++;
    }

    public double Dequeue()
    {
        var value = items[head];
        head = (head + 1) & (items.Length - 1);
        Count--;
        return value;
    }
}

/// <summary>A FIFO of model indices, for the order swap-served models with waiting requests get a turn on a GPU.</summary>
internal sealed class IndexQueue
{
    private int[] items = new int[16];
    private int head;

    public int Count { get; private set; }

    public void Enqueue(int value)
    {
        if (Count == items.Length)
        {
            var grown = new int[items.Length * 2];
            for (var i = 0; i < Count; i++)
            {
                grown[i] = items[(head + i) & (items.Length - 1)];
            }
            items = grown;
            head = 0;
        }
        items[(head + Count) & (items.Length - 1)] = value;
        Count++;
    }

    public int Dequeue()
    {
        var value = items[head];
        head = (head + 1) & (items.Length - 1);
        Count--;
        return value;
    }
}
