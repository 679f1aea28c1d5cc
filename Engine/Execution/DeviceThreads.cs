using System.Collections.Concurrent;

namespace OrleansServe.Engine.Execution;

/// <summary>
/// Dedicated threads that do a device's work, so callers (grains, the thread pool) only ever await it.
/// Work runs in arrival order on whichever device thread is free.
/// </summary>
public sealed class DeviceThreads : IDisposable
{
    private readonly BlockingCollection<Action> queue = new();
    private readonly Thread[] threads;

    /// <summary>Starts <paramref name="count"/> background threads named after the device.</summary>
    public DeviceThreads(string deviceName, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            threads[i] = new Thread(Work) { IsBackground = true, Name = $"{deviceName}-{i}" };
            threads[i].Start();
        }
    }

    /// <summary>Number of device threads.</summary>
    public int Count => threads.Length;

    /// <summary>Work items waiting for a thread.</summary>
    public int Queued => queue.Count;

    /// <summary>Runs <paramref name="work"/> on a device thread; the task completes off that thread.</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Item()
        {
            try
            {
                completion.SetResult(work());
            }
            catch (Exception e)
            {
                completion.SetException(e);
            }
        }
        try
        {
            queue.Add(Item);
        }
        catch (InvalidOperationException)
        {
            completion.SetException(new ObjectDisposedException(nameof(DeviceThreads), "the device is shutting down"));
        }
        return completion.Task;
    }

    private void Work()
    {
        foreach (var item in queue.GetConsumingEnumerable())
        {
            item();
        }
    }

    /// <summary>Lets queued work finish, then stops the threads.</summary>
    public void Dispose()
    {
        queue.CompleteAdding();
        foreach (var thread in threads)
        {
            thread.Join();
        }
        queue.Dispose();
    }
}
