namespace OrleansServe.Simulator.UnitTests;

public class EventQueueTests
{
    [Fact]
    public void Pops_events_in_time_order_and_simultaneous_events_in_insertion_order()
    {
        var queue = new EventQueue();
        double[] times = [5, 1, 3, 1, 9, 3, 0, 7, 1];
        for (var i = 0; i < times.Length; i++)
        {
            queue.Push(times[i], i);
        }

        var popped = new List<(double, int)>();
        while (queue.Count > 0)
        {
            popped.Add(queue.Pop());
        }

        Assert.Equal([(0, 6), (1, 1), (1, 3), (1, 8), (3, 2), (3, 5), (5, 0), (7, 7), (9, 4)], popped);
    }

    [Fact]
    public void Keeps_order_across_growth_with_interleaved_pops()
    {
        var queue = new EventQueue();
        var random = new Random(3);
        var last = double.MinValue;
        for (var i = 0; i < 1000; i++)
        {
            queue.Push(last + random.NextDouble() * 10 + 1, i);
            queue.Push(last + random.NextDouble() * 10 + 1, i);
            var (time, _) = queue.Pop();
            Assert.True(time >= last);
            last = time;
        }
        Assert.Equal(1000, queue.Count);
    }
}
