using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Scheduler.Runtime;

/// <summary>How long a model's batches of one size took on its device, as the server measured them.</summary>
public sealed record ObservedBatch(int Batch, long Executions, double MeanMs);

/// <summary>
/// Profile rows from the server's own measurements, for re-planning before a profiler has run: each model's observed
/// mean latency per batch size on a whole device (partition 100; the table scales smaller shares as compute-bound).
/// With a single observed batch size a second point at twice the batch and twice the latency is assumed (a device
/// that batching does not speed up), so the table can extrapolate.
/// </summary>
public static class ObservedProfiles
{
    public static IEnumerable<ProfileRow> Rows(string model, string device, IEnumerable<ObservedBatch> batches)
    {
        var observed = batches.Where(b => b.Executions > 0 && b.MeanMs > 0 && b.Batch > 0).OrderBy(b => b.Batch).ToList();
        foreach (var b in observed)
        {
            yield return new ProfileRow(model, 100, b.Batch, b.MeanMs, device, ProfileSource.Measured);
        }
        if (observed.Count == 1)
        {
            var only = observed[0];
            yield return new ProfileRow(model, 100, only.Batch * 2, only.MeanMs * 2, device, ProfileSource.Measured);
        }
    }
}
