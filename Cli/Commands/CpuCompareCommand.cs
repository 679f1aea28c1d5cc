using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using OrleansServe.Cli.Benchmarks;
using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Planning;
using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Cli.Commands;

/// <summary>
/// <c>cpu-compare [--models resnet_small,lenet5,mlp] [--partitions 50,100] [--duration S] [--trials N] [--json OUT]</c>:
/// spatio-temporal (the gpulet planner) against temporal-only (the temporal planner) with real execution on the
/// CPU device. The models are profiled on the device (or read from <c>--profile</c>), each policy plans the device as
/// one "GPU", the plan is applied to the device's gpulets and driven with open-loop Poisson load, and the highest
/// total rate with 99% of requests within SLO is searched per policy (see <see cref="CpuComparison"/>).
/// </summary>
public static class CpuCompareCommand
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <param name="output">Where progress and the table go (standard output by default); errors go to standard error.</param>
    public static Command Create(TextWriter? output = null)
    {
        var grid = new ProfileGridOptions("Compute shares the planners may use", "Batch sizes to profile (the planners use batches up to the largest)", "1,2,3,4,5,6,7,8");
        var profile = new Option<FileInfo?>("--profile") { Description = "Read the profile table from this CSV instead of measuring it" };
        var profileCsv = new Option<FileInfo?>("--profile-csv") { Description = "Write the measured profile table here" };
        var slo = new Option<string>("--slo") { Description = "sample: the sample zoo's configured SLOs (the profile rule for other models); profile: SLO = max(factor × batch-1 latency on the whole device, floor)", DefaultValueFactory = _ => "sample" };
        slo.AcceptOnlyFromAmong("sample", "profile");
        var sloFactor = new Option<double>("--slo-factor") { Description = "SLO = max(factor × batch-1 latency on the whole device, floor)", DefaultValueFactory = _ => 5 };
        var sloFloor = new Option<double>("--slo-floor-ms") { Description = "Smallest SLO in milliseconds", DefaultValueFactory = _ => 5 };
        var duration = new Option<double>("--duration") { Description = "Seconds of load per probed rate", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { Description = "Seed of the arrivals (trial t uses seed + t)", DefaultValueFactory = _ => 1 };
        var step = new Option<double>("--step") { Description = "First probed total rate (req/s); doubled until a rate fails", DefaultValueFactory = _ => 25 };
        var tolerance = new Option<double>("--tolerance") { Description = "Bisection stops when the pass/fail gap is at most this (req/s)", DefaultValueFactory = _ => 10 };
        var maxRate = new Option<double>("--max-rate") { Description = "No total rate above this is probed (req/s)", DefaultValueFactory = _ => 20_000 };
        var trials = new Option<int>("--trials") { Description = "Searches per policy (medians are reported; the order of policies alternates)", DefaultValueFactory = _ => 1 };
        var note = new Option<string>("--note") { Description = "Conditions of the run, saved with the results", DefaultValueFactory = _ => "" };
        var json = new Option<FileInfo?>("--json") { Description = "Write the results as JSON here" };
        var command = new Command("cpu-compare", "Compare the gpulet and temporal planners' plans by real execution on the CPU device");
        grid.AddTo(command);
        foreach (Option option in new Option[] { profile, profileCsv, slo, sloFactor, sloFloor, duration, seed, step, tolerance, maxRate, trials, note, json })
        {
            command.Add(option);
        }
        command.SetAction(parse =>
        {
            var writer = output ?? Console.Out;
            try
            {
                var g = grid.Parse(parse);
                var settings = new Settings(
                    g.Models, g.Partitions, g.Batches, g.Repeats, g.Cores,
                    parse.GetValue(profile),
                    parse.GetValue(profileCsv),
                    parse.GetRequiredValue(slo) == "sample",
                    Positive(parse.GetValue(sloFactor), "SLO factor"),
                    Positive(parse.GetValue(sloFloor), "SLO floor"),
                    new CpuComparisonOptions(
                        Positive(parse.GetValue(duration), "duration"),
                        parse.GetValue(seed),
                        Positive(parse.GetValue(step), "step"),
                        Positive(parse.GetValue(tolerance), "tolerance"),
                        Positive(parse.GetValue(maxRate), "maximum rate")),
                    OptionLists.PositiveValue(parse.GetValue(trials), "trial count"),
                    parse.GetRequiredValue(note),
                    parse.GetValue(json));
                Validate(settings);
                return RunAsync(settings, writer).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is ArgumentException or ProfileFormatException or UnknownModelException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Everything a comparison run takes.</summary>
    public sealed record Settings(
        string[] Models, int[] Partitions, int[] Batches, int Repeats, int Cores, FileInfo? Profile, FileInfo? ProfileCsv,
        bool SampleSlos, double SloFactor, double SloFloorMs, CpuComparisonOptions Options, int Trials, string Note, FileInfo? Json);

    /// <summary>Checks what the option parser cannot: models given and distinct, whole device among the shares.</summary>
    /// <exception cref="ArgumentException">The settings cannot make a comparison.</exception>
    public static void Validate(Settings settings)
    {
        if (settings.Models.Length == 0)
        {
            throw new ArgumentException("no model given");
        }
        if (settings.Models.Distinct(StringComparer.Ordinal).Count() != settings.Models.Length)
        {
            throw new ArgumentException("a model is named twice");
        }
        if (!settings.Partitions.Contains(100))
        {
            throw new ArgumentException("the partitions must include 100 (temporal-only plans whole devices, and SLOs come from batch-1 latency at 100%)");
        }
        if (settings.Options.ToleranceRps >= settings.Options.StepRps)
        {
            throw new ArgumentException("the tolerance must be smaller than the step");
        }
    }

    private static async Task<int> RunAsync(Settings settings, TextWriter writer)
    {
        using var bench = CpuBench.Start(settings.Models, settings.Cores);
        ProfileTable table;
        if (settings.Profile is not null)
        {
            table = ProfileTable.FromCsv(await File.ReadAllTextAsync(settings.Profile.FullName)).ForDeviceOrSingle(bench.DeviceType);
        }
        else
        {
            writer.WriteLine($"profiling on {bench.Device.Name}");
            table = await ProfileCommand.MeasureAsync(bench, new ProfileCommand.Settings(settings.Models, settings.Partitions, settings.Batches, settings.Repeats, settings.Cores), writer);
            if (settings.ProfileCsv is not null)
            {
                settings.ProfileCsv.Directory?.Create();
                await File.WriteAllTextAsync(settings.ProfileCsv.FullName, table.ToCsv());
            }
        }
        var specs = CpuComparison.Specs(bench, table, settings.SampleSlos, settings.SloFactor, settings.SloFloorMs);
        foreach (var spec in specs)
        {
            writer.WriteLine(Invariant($"{spec.Name}: SLO {spec.SloMs:0.###} ms (batch 1 on the whole device {table.LatencyMs(spec.Name, 100, 1):0.###} ms)"));
        }
        var comparison = new CpuComparison(bench, table, specs, settings.Partitions, settings.Options);
        IPlanner[] planners = [new GpuletPlanner(comparison.PlannerOptions), new TemporalPlanner(comparison.PlannerOptions)];
        var results = new List<(int Trial, CpuPolicyResult Result)>();
        var report = new Dictionary<string, object?>
        {
            ["date"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["machine"] = Environment.MachineName,
            ["os"] = RuntimeInformation.OSDescription,
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["processor_count"] = Environment.ProcessorCount,
            ["device"] = bench.Device.Name,
            ["note"] = settings.Note,
            ["slo_rule"] = settings.SampleSlos
                ? Invariant($"the sample zoo's configured SLO (other models: max({settings.SloFactor} x batch-1 latency at 100%, {settings.SloFloorMs} ms))")
                : Invariant($"SLO = max({settings.SloFactor} x batch-1 latency at 100%, {settings.SloFloorMs} ms)"),
            ["rate_split"] = "equal rate per model",
            ["target_attainment"] = settings.Options.TargetAttainment,
            ["duration_seconds"] = settings.Options.DurationSeconds,
            ["models"] = specs,
            ["profile"] = table.Rows.Select(r => new { r.Model, r.Partition, r.Batch, latency_ms = r.LatencyMs, r.Device }).ToList(),
        };
        for (var trial = 0; trial < settings.Trials; trial++)
        {
            var trialComparison = new CpuComparison(bench, table, specs, settings.Partitions, settings.Options with { Seed = settings.Options.Seed + trial });
            foreach (var planner in trial % 2 == 0 ? planners : planners.Reverse())
            {
                var result = await trialComparison.SearchAsync(planner, probe => writer.WriteLine(Invariant(
                    $"trial {trial + 1} {probe.Policy,-8} {probe.RateRps,8:0.0} req/s: {(probe.Passed ? "pass" : "fail")} {probe.SloAttainment:P2} {probe.Gpulets}{(probe.Reason is null ? $" (generator p99 late {probe.GeneratorLateP99Ms:0.0} ms)" : $" ({probe.Reason})")}")));
                results.Add((trial, result));
            }
            Save();
        }

        var summary = Summary(results.Select(r => r.Result).ToList());
        report["summary"] = summary;
        Save();
        writer.WriteLine();
        writer.WriteLine(Invariant($"| policy | max rate (req/s), median of {settings.Trials} | per trial | plan at the max (first trial) |"));
        writer.WriteLine("|---|---:|---|---|");
        foreach (var row in summary.Policies)
        {
            writer.WriteLine(Invariant($"| {row.Policy} | {row.MedianMaxRateRps:0.0} | {string.Join(", ", row.MaxRatesRps.Select(r => r.ToString("0.0", CultureInfo.InvariantCulture)))} | {row.Plan} |"));
        }
        writer.WriteLine(Invariant($"gpulet / temporal: {summary.GpuletOverTemporal:0.00}"));
        return 0;

        void Save()
        {
            report["trials"] = results.Select(r => new { trial = r.Trial + 1, result = r.Result }).ToList();
            if (settings.Json is not null)
            {
                settings.Json.Directory?.Create();
                File.WriteAllText(settings.Json.FullName, JsonSerializer.Serialize(report, Json));
            }
        }
    }

    /// <summary>Per policy: every trial's max rate and their median; and the ratio of the gpulet median to the temporal one.</summary>
    public sealed record ComparisonSummary(IReadOnlyList<PolicySummary> Policies, double GpuletOverTemporal);

    /// <summary>One policy's max rates over the trials.</summary>
    public sealed record PolicySummary(string Policy, IReadOnlyList<double> MaxRatesRps, double MedianMaxRateRps, string Plan);

    /// <summary>Medians per policy, in the order the policies first appear.</summary>
    public static ComparisonSummary Summary(IReadOnlyList<CpuPolicyResult> results)
    {
        var policies = results.GroupBy(r => r.Policy).Select(g => new PolicySummary(
            g.Key, [.. g.Select(r => r.MaxRateRps)], CpuBench.Median([.. g.Select(r => r.MaxRateRps)]), g.First().Gpulets)).ToList();
        var gpulet = policies.FirstOrDefault(p => p.Policy == "gpulet")?.MedianMaxRateRps ?? 0;
        var temporal = policies.FirstOrDefault(p => p.Policy == "temporal")?.MedianMaxRateRps ?? 0;
        return new ComparisonSummary(policies, temporal > 0 ? gpulet / temporal : 0);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static double Positive(double value, string what) => value > 0 && double.IsFinite(value) ? value : throw new ArgumentException($"'{value}' is not a valid {what}");

    /// <summary>The rows of the bench's device type when the table has them, else the table's only device type.</summary>
    private static ProfileTable ForDeviceOrSingle(this ProfileTable table, string device) =>
        table.Devices.Contains(device) ? table.ForDevice(device) : table.Devices.Count == 1 ? table : throw new ArgumentException(
            $"the profile holds {table.Devices.Count} device types ({string.Join(", ", table.Devices)}) and none is {device}");
}
