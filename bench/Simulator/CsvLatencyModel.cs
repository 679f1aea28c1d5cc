using System.Globalization;
using OrleansServe.Scheduler;

namespace OrleansServe.Simulator;

/// <summary>
/// Latencies read from a profile CSV with rows <c>model,partition,batch,latency_ms</c> (a header line is allowed).
/// Between profiled batches latency is interpolated linearly and beyond them extrapolated from the last two; a
/// partition between profiled ones is interpolated, one below the smallest is scaled up by the SM ratio, one above
/// the largest takes the largest's latency. A name "arch#k" falls back to the rows of "arch".
/// </summary>
public sealed class CsvLatencyModel : ILatencyModel
{
    private readonly Dictionary<string, SortedDictionary<int, (int Batch, double Ms)[]>> rows;

    private CsvLatencyModel(Dictionary<string, SortedDictionary<int, (int Batch, double Ms)[]>> rows) => this.rows = rows;

    /// <summary>Models with at least one row.</summary>
    public IReadOnlyCollection<string> Models => rows.Keys;

    /// <summary>Reads a profile file.</summary>
    public static CsvLatencyModel Load(string path) => Parse(File.ReadLines(path));

    /// <summary>Parses profile lines; throws with the line number on a malformed row.</summary>
    public static CsvLatencyModel Parse(IEnumerable<string> lines)
    {
        var points = new Dictionary<string, Dictionary<int, List<(int, double)>>>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var fields = line.Split(',');
            var parsed = fields.Length == 4
                && int.TryParse(fields[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var partition)
                && int.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var batch)
                && double.TryParse(fields[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms)
                ? (fields[0].Trim(), partition, batch, ms)
                : default;
            if (parsed.Item1 is null)
            {
                if (number == 1)
                {
                    continue;
                }
                throw new FormatException($"profile line {number}: expected model,partition,batch,latency_ms; got '{line}'");
            }
            if (!points.TryGetValue(parsed.Item1, out var byPartition))
            {
                points[parsed.Item1] = byPartition = [];
            }
            if (!byPartition.TryGetValue(parsed.partition, out var list))
            {
                byPartition[parsed.partition] = list = [];
            }
            list.Add((parsed.batch, parsed.ms));
        }
        return new CsvLatencyModel(points.ToDictionary(
            p => p.Key,
            p => new SortedDictionary<int, (int, double)[]>(p.Value.ToDictionary(q => q.Key, q => q.Value.OrderBy(x => x.Item1).ToArray())),
            StringComparer.Ordinal));
    }

    /// <inheritdoc />
    public double LatencyMs(string model, int partition, int batch)
    {
        if (!rows.TryGetValue(model, out var byPartition) && !rows.TryGetValue(Workloads.ArchitectureOf(model), out byPartition))
        {
            throw new ArgumentException($"the profile has no rows for '{model}'", nameof(model));
        }
        if (byPartition.TryGetValue(partition, out var exact))
        {
            return AtBatch(exact, batch);
        }
        var below = byPartition.Keys.Where(p => p < partition).DefaultIfEmpty(-1).Max();
        var above = byPartition.Keys.Where(p => p > partition).DefaultIfEmpty(-1).Min();
        if (below < 0)
        {
            return AtBatch(byPartition[above], batch) * above / partition;
        }
        if (above < 0)
        {
            return AtBatch(byPartition[below], batch);
        }
        var t = (partition - below) / (double)(above - below);
        return ((1 - t) * AtBatch(byPartition[below], batch)) + (t * AtBatch(byPartition[above], batch));
    }

    private static double AtBatch((int Batch, double Ms)[] points, int batch)
    {
        if (points.Length == 1)
        {
            return points[0].Ms * batch / points[0].Batch;
        }
        var i = 1;
        while (i < points.Length - 1 && points[i].Batch < batch)
        {
            i++;
        }
        var (b0, l0) = points[i - 1];
        var (b1, l1) = points[i];
        return Math.Max(0, l0 + ((l1 - l0) * (batch - b0) / (b1 - b0)));
    }
}
