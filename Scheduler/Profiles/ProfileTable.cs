using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrleansServe.Scheduler.Profiles;

/// <summary>
/// A profile table: solo latency rows (device, model, partition, batch → ms), each tagged with its source, queried as
/// an <see cref="ILatencyModel"/> with interpolation between profiled points. Immutable.
/// </summary>
/// <remarks>
/// Between profiled batches latency is linear in batch; beyond the largest two it is extrapolated along their line,
/// never below the smallest batch's latency; below the smallest profiled batch the smallest batch's latency is used
/// (latency does not fall with batch, so this bounds it from above). Between profiled partitions throughput (1 / latency)
/// is interpolated linearly in the SM share, which is exact when latency ∝ 1 / share (compute-bound) and when it does
/// not depend on the share (overhead-bound). Below the smallest profiled partition latency is scaled by
/// smallest / asked (as if compute-bound: pessimistic); above the largest the largest's latency is used (more SMs
/// never make a batch slower).
/// </remarks>
public sealed class ProfileTable : ILatencyModel
{
    private const string RequiredHeader = "model,partition,batch,latency_ms";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly Dictionary<(string Device, string Model), SortedDictionary<int, BatchCurve>> curves = [];

    /// <summary>Builds a table; rows must be valid and no two may share device, model, partition and batch.</summary>
    /// <exception cref="ArgumentException">A row is invalid or duplicated.</exception>
    public ProfileTable(IEnumerable<ProfileRow> rows)
    {
        var list = new List<ProfileRow>();
        var seen = new HashSet<(string, string, int, int)>();
        foreach (var row in rows)
        {
            if (Validate(row) is { } problem)
            {
                throw new ArgumentException($"invalid profile row {row}: {problem}", nameof(rows));
            }
            if (!seen.Add((row.Device, row.Model, row.Partition, row.Batch)))
            {
                throw new ArgumentException($"duplicate profile row for {Describe(row)}", nameof(rows));
            }
            list.Add(row);
        }
        Rows = list;
        foreach (var group in list.GroupBy(r => (r.Device, r.Model)))
        {
            var byPartition = new SortedDictionary<int, BatchCurve>();
            foreach (var partition in group.GroupBy(r => r.Partition))
            {
                var ordered = partition.OrderBy(r => r.Batch).ToArray();
                byPartition[partition.Key] = new BatchCurve([.. ordered.Select(r => r.Batch)], [.. ordered.Select(r => r.LatencyMs)]);
            }
            curves[group.Key] = byPartition;
        }
        Devices = [.. list.Select(r => r.Device).Distinct().Order(StringComparer.Ordinal)];
        Models = [.. list.Select(r => r.Model).Distinct().Order(StringComparer.Ordinal)];
    }

    /// <summary>Every row, in the order given.</summary>
    public IReadOnlyList<ProfileRow> Rows { get; }

    /// <summary>Device types with rows (an empty name when a source did not say).</summary>
    public IReadOnlyList<string> Devices { get; }

    /// <summary>Models with rows on any device.</summary>
    public IReadOnlyList<string> Models { get; }

    /// <summary>Whether the table has rows for the model.</summary>
    public bool Contains(string model) => Models.Contains(model);

    /// <inheritdoc/>
    /// <remarks>Only for a table of one device type; use <see cref="ForDevice"/> or the overload naming the device otherwise.</remarks>
    /// <exception cref="UnknownModelException">The table has no rows for the model.</exception>
    /// <exception cref="InvalidOperationException">The table holds more than one device type.</exception>
    public double LatencyMs(string model, int partition, int batch)
    {
        if (Devices.Count > 1)
        {
            throw new InvalidOperationException(
                $"the profile table holds {Devices.Count} device types ({string.Join(", ", Devices)}); name one");
        }
        return LatencyMs(Devices.Count == 1 ? Devices[0] : "", model, partition, batch);
    }

    /// <summary>Milliseconds for one batch of the model on the device type, interpolated between profiled points.</summary>
    /// <exception cref="UnknownModelException">The table has no rows for the model on that device.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Partition outside 1–100 or batch below 1.</exception>
    public double LatencyMs(string device, string model, int partition, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partition, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(partition, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        var byPartition = Curves(device, model);
        if (byPartition.TryGetValue(partition, out var exact))
        {
            return exact.At(batch);
        }
        var (lower, upper) = (0, 0);
        foreach (var profiled in byPartition.Keys)
        {
            if (profiled < partition)
            {
                lower = profiled;
            }
            else if (upper == 0)
            {
                upper = profiled;
            }
        }
        if (lower == 0)
        {
            return byPartition[upper].At(batch) * upper / partition;
        }
        if (upper == 0)
        {
            return byPartition[lower].At(batch);
        }
        var t = (partition - lower) / (double)(upper - lower);
        var throughput = (1 - t) / byPartition[lower].At(batch) + t / byPartition[upper].At(batch);
        return 1 / throughput;
    }

    /// <summary>The rows of one device type as a table of their own.</summary>
    public ProfileTable ForDevice(string device) => new(Rows.Where(r => r.Device == device));

    /// <summary>This table with rows added; a new row replaces an existing one with the same device, model, partition and batch.</summary>
    public ProfileTable With(IEnumerable<ProfileRow> rows)
    {
        var added = rows.ToList();
        var replaced = added.Select(r => (r.Device, r.Model, r.Partition, r.Batch)).ToHashSet();
        return new ProfileTable(Rows.Where(r => !replaced.Contains((r.Device, r.Model, r.Partition, r.Batch))).Concat(added));
    }

    /// <summary>The sources of a model's rows on any device, in enum order (one entry when all its figures agree).</summary>
    /// <exception cref="UnknownModelException">The table has no rows for the model.</exception>
    public IReadOnlyList<ProfileSource> SourcesOf(string model)
    {
        var sources = Rows.Where(r => r.Model == model).Select(r => r.Source).Distinct().Order().ToList();
        return sources.Count > 0 ? sources : throw new UnknownModelException(model, Models);
    }

    /// <summary>Profiled partitions of a model on a device type, ascending.</summary>
    public IReadOnlyList<int> PartitionsOf(string model, string device = "") => [.. Curves(device, model).Keys];

    /// <summary>Profiled batches of a model at one partition on a device type, ascending.</summary>
    public IReadOnlyList<int> BatchesOf(string model, int partition, string device = "") =>
        Curves(device, model).TryGetValue(partition, out var curve) ? curve.Batches : [];

    /// <summary>CSV with the header <c>model,partition,batch,latency_ms,device,source</c>, rows sorted by device, model, partition, batch.</summary>
    public string ToCsv()
    {
        var text = new StringBuilder(RequiredHeader).Append(",device,source\n");
        foreach (var row in Rows.OrderBy(r => r.Device, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal)
                     .ThenBy(r => r.Partition).ThenBy(r => r.Batch))
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{row.Model},{row.Partition},{row.Batch},{row.LatencyMs.ToString("0.####", CultureInfo.InvariantCulture)},{row.Device},{SourceName(row.Source)}\n");
        }
        return text.ToString();
    }

    /// <summary>
    /// Reads CSV with the header <c>model,partition,batch,latency_ms</c> and optionally <c>device</c> and <c>source</c>
    /// columns (any order). Blank lines are skipped.
    /// </summary>
    /// <param name="defaultDevice">Device of rows when there is no device column or its cell is empty.</param>
    /// <param name="defaultSource">Source of rows when there is no source column or its cell is empty.</param>
    /// <exception cref="ProfileFormatException">Some lines are invalid; all of them are listed with their line numbers.</exception>
    public static ProfileTable FromCsv(string text, string defaultDevice = "", ProfileSource defaultSource = ProfileSource.Imported)
    {
        var lines = text.Split('\n');
        var errors = new List<ProfileLineError>();
        var header = lines[0].TrimEnd('\r').Split(',').Select(c => c.Trim().ToLowerInvariant()).ToArray();
        string[] known = ["model", "partition", "batch", "latency_ms", "device", "source"];
        foreach (var column in header.Where(c => !known.Contains(c)).Distinct())
        {
            errors.Add(new(1, $"unknown column '{column}' (expected {RequiredHeader}[,device][,source])"));
        }
        foreach (var column in header.GroupBy(c => c).Where(g => g.Count() > 1))
        {
            errors.Add(new(1, $"column '{column.Key}' appears {column.Count()} times"));
        }
        foreach (var column in known.Take(4).Where(c => !header.Contains(c)))
        {
            errors.Add(new(1, $"missing column '{column}'"));
        }
        if (errors.Count > 0)
        {
            throw new ProfileFormatException(errors);
        }
        int Column(string name) => Array.IndexOf(header, name);
        var (model, partition, batch, latency, device, source) =
            (Column("model"), Column("partition"), Column("batch"), Column("latency_ms"), Column("device"), Column("source"));

        var rows = new List<ProfileRow>();
        var seen = new Dictionary<(string, string, int, int), int>();
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            var lineNumber = i + 1;
            var cells = line.Split(',').Select(c => c.Trim()).ToArray();
            if (cells.Length != header.Length)
            {
                errors.Add(new(lineNumber, $"{cells.Length} fields, the header has {header.Length}"));
                continue;
            }
            var problems = new List<string>();
            if (!int.TryParse(cells[partition], NumberStyles.Integer, CultureInfo.InvariantCulture, out var p))
            {
                problems.Add($"partition '{cells[partition]}' is not an integer");
            }
            if (!int.TryParse(cells[batch], NumberStyles.Integer, CultureInfo.InvariantCulture, out var b))
            {
                problems.Add($"batch '{cells[batch]}' is not an integer");
            }
            if (!double.TryParse(cells[latency], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
            {
                problems.Add($"latency_ms '{cells[latency]}' is not a number");
            }
            var rowSource = defaultSource;
            if (source >= 0 && cells[source].Length > 0 && !TryParseSource(cells[source], out rowSource))
            {
                problems.Add($"source '{cells[source]}' is not one of measured, roofline, published, imported");
            }
            var rowDevice = device >= 0 && cells[device].Length > 0 ? cells[device] : defaultDevice;
            if (problems.Count == 0)
            {
                var row = new ProfileRow(cells[model], p, b, ms, rowDevice, rowSource);
                if (Validate(row) is { } problem)
                {
                    problems.Add(problem);
                }
                else if (seen.TryGetValue((row.Device, row.Model, row.Partition, row.Batch), out var first))
                {
                    problems.Add($"duplicate of line {first} ({Describe(row)})");
                }
                else
                {
                    seen[(row.Device, row.Model, row.Partition, row.Batch)] = lineNumber;
                    rows.Add(row);
                }
            }
            errors.AddRange(problems.Select(problem => new ProfileLineError(lineNumber, problem)));
        }
        return errors.Count > 0 ? throw new ProfileFormatException(errors) : new ProfileTable(rows);
    }

    /// <summary>The rows as a JSON array of plain records (camelCase, sources as lower-case names).</summary>
    public string ToJson() => JsonSerializer.Serialize(Rows, JsonOptions);

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    /// <exception cref="JsonException">Not a JSON array of rows.</exception>
    /// <exception cref="ArgumentException">A row is invalid or duplicated.</exception>
    public static ProfileTable FromJson(string json) =>
        new(JsonSerializer.Deserialize<List<ProfileRow>>(json, JsonOptions) ?? throw new JsonException("null profile table"));

    private static string SourceName(ProfileSource source) => source.ToString().ToLowerInvariant();

    private static bool TryParseSource(string text, out ProfileSource source) =>
        Enum.TryParse(text, ignoreCase: true, out source) && Enum.IsDefined(source) && !int.TryParse(text, out _);

    private static string? Validate(ProfileRow row) => row switch
    {
        { Model: null or "" } => "model name is empty",
        { Partition: < 1 or > 100 } => $"partition {row.Partition} is outside 1–100",
        { Batch: < 1 } => $"batch {row.Batch} is below 1",
        { LatencyMs: var ms } when !double.IsFinite(ms) || ms <= 0 => $"latency {ms} ms is not a positive number",
        _ when !Enum.IsDefined(row.Source) => $"source {(int)row.Source} is not defined",
        _ => null,
    };

    private static string Describe(ProfileRow row) =>
        $"{(row.Device.Length > 0 ? row.Device + " " : "")}{row.Model} partition {row.Partition} batch {row.Batch}";

    private SortedDictionary<int, BatchCurve> Curves(string device, string model) =>
        curves.TryGetValue((device, model), out var byPartition)
            ? byPartition
            : throw new UnknownModelException(model, Models, device);

    /// <summary>Latency against batch at one partition.</summary>
    private sealed record BatchCurve(int[] Batches, double[] Latencies)
    {
        public double At(int batch)
        {
            var index = Array.BinarySearch(Batches, batch);
            if (index >= 0)
            {
                return Latencies[index];
            }
            if (batch < Batches[0])
            {
                return Latencies[0];
            }
            if (Batches.Length == 1)
            {
                // One point: latency ∝ batch bounds the true (affine) curve from above.
                return Latencies[0] * batch / Batches[0];
            }
            var upper = ~index;
            var lower = upper - 1;
            if (upper == Batches.Length)
            {
                (lower, upper) = (Batches.Length - 2, Batches.Length - 1);
            }
            var slope = (Latencies[upper] - Latencies[lower]) / (Batches[upper] - Batches[lower]);
            return Math.Max(Latencies[0], Latencies[lower] + slope * (batch - Batches[lower]));
        }
    }
}
