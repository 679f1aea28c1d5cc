namespace OrleansServe.Grains.Tests;

/// <summary>A count that tests can await reaching a value: an explicit signal in place of sleeping.</summary>
public sealed class Progress
{
    private readonly Lock gate = new();
    private readonly List<(long Target, TaskCompletionSource Reached)> waiters = [];
    private long count;

    public long Count
    {
        get
        {
            lock (gate)
            {
                return count;
            }
        }
    }

    public void Add()
    {
        List<TaskCompletionSource> reached;
        lock (gate)
        {
            count++;
            reached = [.. waiters.Where(w => w.Target <= count).Select(w => w.Reached)];
            waiters.RemoveAll(w => w.Target <= count);
        }
        reached.ForEach(r => r.TrySetResult());
    }

    /// <summary>Completes once the count is at least <paramref name="target"/>.</summary>
    public Task WhenAtLeast(long target)
    {
        lock (gate)
        {
            if (count >= target)
            {
                return Task.CompletedTask;
            }
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((target, reached));
            return reached.Task;
        }
    }
}
