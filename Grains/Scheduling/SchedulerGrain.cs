using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrleansServe.Grains.Hosting;
using OrleansServe.Scheduler;
using OrleansServe.Scheduler.Interference;
using OrleansServe.Scheduler.Planning;
using OrleansServe.Scheduler.Profiles;
using OrleansServe.Scheduler.Runtime;

namespace OrleansServe.Grains.Scheduling;

/// <summary>
/// The cluster's scheduler. It places each model on the least-loaded device with room, preferring the silo that
/// holds the model's weights, and re-plans periodically with the configured planner from EWMA request rates and the
/// batch latencies the models measured. The schedule is published; with OrleansServe:Scheduler:ApplyPlan each
/// plan's gpulets are also pushed to the devices (<see cref="IGpuGrain.RepartitionAsync"/>) where they changed.
/// Devices follow cluster membership: a silo's devices leave with it (and its models' placements with them), and
/// the devices of live silos are asked for whenever membership changes, so a scheduler activated anew after its
/// silo died knows the survivors' devices before it places anything.
/// </summary>
public sealed class SchedulerGrain(
    ILogger<SchedulerGrain> logger,
    IOptions<OrleansServeOptions> options,
    IClusterMembershipService membership,
    [PersistentState("profiles")] IPersistentState<ImportedProfiles> imported,
    [PersistentState("interference")] IPersistentState<ImportedInterference> interference,
    [PersistentState("schedule")] IPersistentState<LastSchedule> lastSchedule) : Grain, ISchedulerGrain
{
    /// <summary>The singleton key.</summary>
    public const string Key = GrainKeys.Scheduler;

    /// <summary>The device type of every profile row the scheduler plans with: it plans for the devices it has.</summary>
    private const string PlannedDevice = "device";

    private ProfileTable? importedTable;
    private List<ProfileRow> observedRows = [];

    private readonly Dictionary<string, DeviceDescription> devices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Device, long Bytes)> placements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, RateEstimator> rates = new(StringComparer.Ordinal);
    private readonly SchedulerSettings settings = options.Value.Scheduler;
    private long planVersion;
    private long scheduleVersion;
    private string? schedule;
    private Task applying = Task.CompletedTask;
    private MembershipVersion devicesAsOf = MembershipVersion.MinValue;

    /// <summary>How long the scheduler waits for a live silo to list its devices before asking again later.</summary>
    private static readonly TimeSpan DiscoveryTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a silo that did not list its devices is left alone, so placements do not wait on it each time.</summary>
    private static readonly TimeSpan DiscoveryBackoff = TimeSpan.FromSeconds(15);

    /// <summary>Silos that did not answer, and when they may be asked again.</summary>
    private readonly Dictionary<SiloAddress, long> silentSilos = [];

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (lastSchedule.State.Json.Length > 0)
        {
            schedule = lastSchedule.State.Json;
            scheduleVersion = lastSchedule.State.Version;
        }
        if (settings.ReplanPeriodSeconds > 0)
        {
            var period = TimeSpan.FromSeconds(settings.ReplanPeriodSeconds);
            // Interleaved: a re-plan awaits every model grain, and placements must not wait behind it.
            this.RegisterGrainTimer(_ => ReplanAsync(), new GrainTimerCreationOptions(period, period) { Interleave = true });
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task RegisterDeviceAsync(DeviceDescription device)
    {
        devices[device.Key] = device;
        planVersion++;
        logger.LogInformation("Device {Key} registered: {Name}", device.Key, device.Name);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task UnregisterDeviceAsync(string deviceKey)
    {
        RemoveDevice(deviceKey);
        return Task.CompletedTask;
    }

    /// <summary>Drops a device and the placements on it; their models are placed again when they next load.</summary>
    private void RemoveDevice(string deviceKey)
    {
        if (devices.Remove(deviceKey))
        {
            foreach (var model in placements.Where(p => p.Value.Device == deviceKey).Select(p => p.Key).ToList())
            {
                placements.Remove(model);
            }
            planVersion++;
        }
    }

    /// <summary>
    /// Brings the device list in line with membership when it changed since the last look: devices of silos that
    /// are dead or leaving go, and live silos with no device known are asked for theirs. A silo that does not answer
    /// is asked again on the next change or placement.
    /// </summary>
    private async Task FollowMembershipAsync()
    {
        var snapshot = membership.CurrentSnapshot;
        if (snapshot.Version == devicesAsOf)
        {
            return;
        }
        foreach (var gone in devices.Values.Where(d => snapshot.GetSiloStatus(SiloAddress.FromParsableString(d.Silo)).IsTerminating()).ToList())
        {
            logger.LogWarning("Device {Key} left the plan: its silo is {Status}", gone.Key, snapshot.GetSiloStatus(SiloAddress.FromParsableString(gone.Silo)));
            RemoveDevice(gone.Key);
        }
        var unknown = snapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !devices.Values.Any(d => d.Silo == m.SiloAddress.ToParsableString()))
            .Select(m => m.SiloAddress)
            .ToList();
        var answered = await Task.WhenAll(unknown.Select(s => DiscoverAsync(s, evenIfSilent: false)));
        if (answered.All(a => a))
        {
            devicesAsOf = snapshot.Version;
        }
    }

    /// <summary>
    /// Asks a silo for its devices and registers them; false when it could not answer (<paramref name="evenIfSilent"/>:
    /// ask also a silo that lately did not answer).
    /// </summary>
    private async Task<bool> DiscoverAsync(SiloAddress silo, bool evenIfSilent)
    {
        if (!evenIfSilent && silentSilos.TryGetValue(silo, out var askAgainAt) && TimeProvider.System.GetTimestamp() < askAgainAt)
        {
            return false;
        }
        try
        {
            // Bounded: placements wait behind this call, and a silo cut off (not killed) would hold them for the response timeout.
            var found = await GrainFactory.GetGrain<ISiloDevicesGrain>(SiloBoundPlacement.Key(silo, Devices.SiloDevicesGrain.LocalId))
                .DescribeAsync().WaitAsync(DiscoveryTimeout);
            foreach (var device in found.Where(d => !devices.ContainsKey(d.Key)))
            {
                devices[device.Key] = device;
                planVersion++;
                logger.LogInformation("Device {Key} found on live silo {Silo}: {Name}", device.Key, device.Silo, device.Name);
            }
            silentSilos.Remove(silo);
            return true;
        }
        catch (Exception e) when (e is OrleansException or InferenceException or TimeoutException)
        {
            logger.LogDebug("Silo {Silo} did not list its devices: {Reason}", silo, e.Message);
            silentSilos[silo] = TimeProvider.System.GetTimestamp() + (long)(DiscoveryBackoff.TotalSeconds * TimeProvider.System.TimestampFrequency);
            return false;
        }
    }

    /// <inheritdoc />
    public async Task<string> PlaceModelAsync(string model, long bytes, string silo, bool runsOnGpuEngine)
    {
        await FollowMembershipAsync();
        if (!devices.Values.Any(d => d.Silo == silo))
        {
            // Membership as this silo sees it may lag behind the silo asking.
            // The silo asking is alive, whatever it did before.
            await DiscoverAsync(SiloAddress.FromParsableString(silo), evenIfSilent: true);
        }
        if (placements.TryGetValue(model, out var placed) && devices.TryGetValue(placed.Device, out var current) && current.Silo == silo
            && (runsOnGpuEngine || current.Kind == "cpu"))
        {
            return placed.Device;
        }
        // Too large is the model's own lasting refusal (Overloaded); no device yet is the cluster's passing one.
        var device = ChooseDevice(bytes, silo, runsOnGpuEngine)
            ?? throw (devices.Values.Any(d => d.Silo == silo)
                ? new InferenceException(InferenceErrorKind.Overloaded, $"model '{model}' ({bytes} bytes) is larger than the memory budget of every device of its silo")
                : new InferenceException(InferenceErrorKind.Unavailable, $"no device is registered on silo {silo}"));
        placements[model] = (device.Key, bytes);
        planVersion++;
        return device.Key;
    }

    /// <inheritdoc />
    public Task RemoveModelAsync(string model)
    {
        if (placements.Remove(model))
        {
            planVersion++;
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task<Plan> GetPlanAsync()
    {
        await FollowMembershipAsync();
        var assignments = devices.Values
            .OrderBy(d => d.Key, StringComparer.Ordinal)
            .Select(d =>
            {
                var models = placements.Where(p => p.Value.Device == d.Key).Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();
                return new DeviceAssignment(d.Key, 100, models, new int[models.Length]);
            })
            .ToArray();
        return new Plan(planVersion, assignments);
    }

    /// <inheritdoc />
    public async Task<DeviceDescription[]> GetDevicesAsync()
    {
        await FollowMembershipAsync();
        return [.. devices.Values];
    }

    /// <inheritdoc />
    public async Task<string> GetScheduleAsync() => schedule ?? await ReplanAsync();

    /// <inheritdoc />
    public async Task<string> ReplanAsync()
    {
        var planner = PlannerFor(settings.Policy);
        await FollowMembershipAsync();
        // Snapshot: other calls interleave while the model grains answer.
        var models = placements.Select(p => (Name: p.Key, p.Value.Bytes)).ToList();
        var observed = await Task.WhenAll(models.Select(m => ObserveAsync(m.Name, m.Bytes)));
        var now = TimeProvider.System.GetTimestamp() / (double)TimeProvider.System.TimestampFrequency;

        var measured = new List<ProfileRow>();
        var demands = new List<ModelDemand>();
        var notPlanned = new JsonObject();
        var rateReport = new JsonObject();
        foreach (var model in observed.Where(o => o is not null).Select(o => o!))
        {
            if (!rates.TryGetValue(model.Name, out var rate))
            {
                rates[model.Name] = rate = new RateEstimator(settings.RateEwmaWeight);
            }
            rate.Observe(model.Requests, now);
            rateReport[model.Name] = Math.Round(rate.RateRps, 3);
            var profile = ObservedProfiles.Rows(model.Name, PlannedDevice, model.Batches).ToList();
            measured.AddRange(profile);
            if (profile.Count == 0 && !Imported().Contains(model.Name))
            {
                notPlanned[model.Name] = "no batch latency measured or imported yet";
            }
            else if (!rate.HasRate || rate.RateRps <= 0)
            {
                notPlanned[model.Name] = "no requests in the last period";
            }
            else
            {
                demands.Add(new ModelDemand(new ModelSpec(model.Name, model.SloMs, model.Bytes, model.Bytes), rate.RateRps));
            }
        }

        observedRows = measured;
        JsonNode? plan = null;
        JsonNode? applied = null;
        JsonNode? interferenceReport = null;
        var targets = PlanTargets();
        if (demands.Count > 0 && targets.Count > 0)
        {
            var cluster = new ClusterSpec(targets.Count, targets.Min(d => d.MemoryBudgetBytes), ClusterSpec.GpuletPartitions);
            var table = Merged(measured);
            var result = planner.Plan(demands, cluster, table, Interference(observed, table, out interferenceReport));
            plan = JsonNode.Parse(PlanJson.Serialize(result));
            if (settings.ApplyPlan)
            {
                applied = await ApplyInTurnAsync(result, targets);
            }
        }
        var report = new JsonObject
        {
            ["version"] = ++scheduleVersion,
            ["policy"] = planner.Name,
            ["computed_at"] = DateTimeOffset.UtcNow.ToString("O"),
            ["devices"] = devices.Count,
            ["latency_source"] = Imported().Rows.Count > 0 ? "measured, then imported profiles" : "measured",
            ["rates_rps"] = rateReport,
            ["interference"] = interferenceReport,
            ["not_planned"] = notPlanned,
            ["plan"] = plan,
            ["apply_plan"] = settings.ApplyPlan,
            ["applied"] = applied,
        };
        schedule = report.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
        lastSchedule.State = new LastSchedule { Version = scheduleVersion, Json = schedule };
        await lastSchedule.WriteStateAsync();
        logger.LogDebug("Schedule {Version}: {Models} model(s) planned with {Policy}", scheduleVersion, demands.Count, planner.Name);
        return schedule;
    }

    /// <summary>Applies one plan after any apply still running, so two re-plans never split a device at once.</summary>
    private async Task<JsonArray> ApplyInTurnAsync(SchedulePlan plan, IReadOnlyList<DeviceDescription> targets)
    {
        var previous = applying;
        var current = ApplyAfterAsync(previous, plan, targets);
        applying = current;
        return await current;
    }

    private async Task<JsonArray> ApplyAfterAsync(Task previous, SchedulePlan plan, IReadOnlyList<DeviceDescription> targets)
    {
        try
        {
            await previous;
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "An earlier plan application failed");
        }
        var report = new JsonArray();
        foreach (var (gpu, device) in MapGpus(plan, targets))
        {
            report.Add(await ApplyGpuAsync(gpu, device));
        }
        return report;
    }

    /// <summary>
    /// Repartitions one device as the plan's GPU says, only when its shares or bindings differ from the device's
    /// current gpulets. Models the plan does not place are bound nowhere, so the device serves them where they are
    /// resident or on its least loaded gpulet (late binding). A split the device refuses is reported, not retried.
    /// </summary>
    private async Task<JsonObject> ApplyGpuAsync(GpuPlan gpu, DeviceDescription device)
    {
        var wanted = gpu.Gpulets
            .Select(g => new GpuletPlan(g.Partition, [.. g.Models.Select(m => m.Model).Distinct(StringComparer.Ordinal)]))
            .ToArray();
        var entry = new JsonObject
        {
            ["gpu"] = gpu.Gpu,
            ["device"] = device.Key,
            ["gpulets"] = new JsonArray([.. wanted.Select(g => (JsonNode)new JsonObject
            {
                ["sm_percent"] = g.SmPercent,
                ["models"] = new JsonArray([.. g.Models.Select(m => (JsonNode)JsonValue.Create(m))]),
            })]),
        };
        var grain = GrainFactory.GetGrain<IGpuGrain>(device.Key);
        try
        {
            var current = (await grain.GetStatusAsync()).Gpulets;
            if (SameSplit(current, wanted))
            {
                entry["action"] = "unchanged";
                return entry;
            }
            await grain.RepartitionAsync(wanted);
            entry["action"] = "repartitioned";
            logger.LogInformation("Device {Device} split as planned: {Shares}", device.Key, string.Join("/", wanted.Select(g => g.SmPercent)));
        }
        catch (InferenceException e)
        {
            entry["action"] = "refused";
            entry["reason"] = e.Message;
            logger.LogWarning("Device {Device} refused the planned split: {Reason}", device.Key, e.Message);
        }
        return entry;
    }

    private static bool SameSplit(GpuletStatus[] current, GpuletPlan[] wanted) =>
        current.Length == wanted.Length
        && current.Zip(wanted).All(p => p.First.SmPercent == p.Second.SmPercent
            && p.First.Models.Order(StringComparer.Ordinal).SequenceEqual(p.Second.Models.Order(StringComparer.Ordinal), StringComparer.Ordinal));

    /// <summary>
    /// The devices a plan's GPUs stand for: per silo, its GPU-engine devices in key order, or its CPU device when
    /// the silo has nothing else (a CPU device beside GPUs serves only what the GPU engine cannot run).
    /// </summary>
    private List<DeviceDescription> PlanTargets() =>
        [.. devices.Values
            .GroupBy(d => d.Silo, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .SelectMany(silo => silo.Any(d => d.Kind != "cpu") ? silo.Where(d => d.Kind != "cpu") : silo)
            .OrderBy(d => d.Silo, StringComparer.Ordinal)
            .ThenBy(d => d.Key, StringComparer.Ordinal)];

    /// <summary>
    /// Gives each planned GPU, in order, the unused target device where most of its models are already placed
    /// (ties: the first in order), so applying a plan moves as few models between devices as it can.
    /// </summary>
    private List<(GpuPlan Gpu, DeviceDescription Device)> MapGpus(SchedulePlan plan, IReadOnlyList<DeviceDescription> targets)
    {
        var free = targets.ToList();
        var mapped = new List<(GpuPlan, DeviceDescription)>();
        foreach (var gpu in plan.Gpus)
        {
            if (free.Count == 0)
            {
                break;
            }
            var models = gpu.Gpulets.SelectMany(g => g.Models).Select(m => m.Model).ToHashSet(StringComparer.Ordinal);
            var device = free
                .Select((d, i) => (Device: d, Order: i, Placed: models.Count(m => placements.TryGetValue(m, out var p) && p.Device == d.Key)))
                .OrderByDescending(c => c.Placed)
                .ThenBy(c => c.Order)
                .First().Device;
            free.Remove(device);
            mapped.Add((gpu, device));
        }
        return mapped;
    }

    private sealed record ObservedModel(string Name, long Bytes, double SloMs, long Requests, IReadOnlyList<ObservedBatch> Batches, ModelCostFeatures? Cost);

    /// <summary>
    /// The predictor the planner checks co-location with: gpulet's regression with the imported coefficients over the
    /// models whose graph cost is known (features from that cost and the profile table on the imported device
    /// preset), or none when nothing was imported. <paramref name="report"/> says which, for the schedule.
    /// </summary>
    private IInterferencePredictor Interference(IEnumerable<ObservedModel?> observed, ProfileTable table, out JsonNode? report)
    {
        if (interference.State.Settings is not { } settings)
        {
            report = null;
            return NoInterference.Instance;
        }
        var features = observed
            .Where(o => o?.Cost is not null)
            .Select(o => new ModelFeatures(o!.Name, o.Cost!.FlopsPerItem, o.Cost.WeightBytes, o.Cost.ActivationBytesPerItem,
                o.Cost.WorkspaceBytesBatch1, o.Cost.WeightBytes / sizeof(float), o.Cost.Layers))
            .ToList();
        var device = DeviceSpec.Presets.Single(d => d.Name == settings.Device);
        var predictor = new LinearInterferencePredictor(
            new InterferenceFeatureSource(features, table, device),
            new InterferenceCoefficients(settings.MemSelf, settings.MemOther, settings.CompSelf, settings.CompOther, settings.Constant));
        report = new JsonObject
        {
            ["device"] = settings.Device,
            ["coefficients"] = new JsonObject
            {
                ["mem_self"] = settings.MemSelf,
                ["mem_other"] = settings.MemOther,
                ["comp_self"] = settings.CompSelf,
                ["comp_other"] = settings.CompOther,
                ["constant"] = settings.Constant,
            },
            ["models_with_features"] = new JsonArray([.. features.Select(f => (JsonNode)JsonValue.Create(f.Name)!)]),
        };
        return new PartialInterference(predictor, features.Select(f => f.Name).ToHashSet(StringComparer.Ordinal));
    }

    /// <inheritdoc />
    public async Task ImportInterferenceAsync(InterferenceSettings settings)
    {
        if (settings is null
            || !new[] { settings.MemSelf, settings.MemOther, settings.CompSelf, settings.CompOther, settings.Constant }.All(double.IsFinite))
        {
            throw new InferenceException(InferenceErrorKind.BadRequest, "interference coefficients mem_self, mem_other, comp_self, comp_other and constant must all be finite numbers");
        }
        if (!DeviceSpec.Presets.Any(d => d.Name == settings.Device))
        {
            throw new InferenceException(InferenceErrorKind.BadRequest,
                $"interference device '{settings.Device}' is not one of {string.Join(", ", DeviceSpec.Presets.Select(d => d.Name))}");
        }
        interference.State = new ImportedInterference { Settings = settings };
        await interference.WriteStateAsync();
        logger.LogInformation("Imported interference coefficients for {Device}", settings.Device);
    }

    /// <inheritdoc />
    public Task<InterferenceSettings?> GetInterferenceAsync() => Task.FromResult(interference.State.Settings);

    /// <summary>A model's cumulative request count, SLO and measured batch latencies; null when it cannot answer (unloaded, failed).</summary>
    private async Task<ObservedModel?> ObserveAsync(string name, long bytes)
    {
        try
        {
            var grain = GrainFactory.GetGrain<IModelGrain>(name);
            var statistics = await grain.GetStatisticsAsync();
            var metadata = await grain.GetMetadataAsync();
            var batches = statistics.BatchStats
                .Select(b => new ObservedBatch(b.BatchSize, b.ComputeInfer.Count, b.ComputeInfer.Count == 0 ? 0
                    : (b.ComputeInput.Ns + b.ComputeInfer.Ns + b.ComputeOutput.Ns) / (double)b.ComputeInfer.Count / 1e6))
                .ToList();
            var cost = await grain.GetCostAsync();
            return new ObservedModel(name, bytes, metadata.Config.SloMs, statistics.Success.Count + statistics.Fail.Count, batches, cost);
        }
        catch (Exception e) when (e is InferenceException or OrleansException or TimeoutException)
        {
            // Unloaded, failed, or on a silo that is going away: the schedule is made without it.
            logger.LogDebug("Model {Model} left out of the schedule: {Reason}", name, e.Message);
            return null;
        }
    }

    private static IPlanner PlannerFor(string policy)
    {
        try
        {
            return Planners.Create(policy);
        }
        catch (KeyNotFoundException)
        {
            throw new InvalidOperationException($"OrleansServe:Scheduler:Policy '{policy}' is not one of {string.Join(", ", Planners.Names)}");
        }
    }

    /// <inheritdoc />
    public async Task<int> ImportProfilesAsync(string csv)
    {
        ProfileTable table;
        try
        {
            // Rows name the device they were measured on; the scheduler plans with them for the devices it has.
            var rows = ProfileTable.FromCsv(csv ?? "", PlannedDevice, ProfileSource.Imported).Rows.Select(r => r with { Device = PlannedDevice });
            table = new ProfileTable(rows);
        }
        catch (Exception e) when (e is ProfileFormatException or ArgumentException)
        {
            throw new InferenceException(InferenceErrorKind.BadRequest, $"the profile table was not imported: {e.Message}");
        }
        imported.State = new ImportedProfiles { Csv = table.ToCsv() };
        await imported.WriteStateAsync();
        importedTable = table;
        logger.LogInformation("Imported a profile table of {Rows} rows for {Models} models", table.Rows.Count, table.Models.Count);
        return table.Rows.Count;
    }

    /// <inheritdoc />
    public Task<string> ExportProfilesAsync() => Task.FromResult(Merged(observedRows).ToCsv());

    /// <summary>The imported table, read from the persisted state on first use.</summary>
    private ProfileTable Imported() =>
        importedTable ??= imported.State.Csv.Length == 0 ? new ProfileTable([]) : ProfileTable.FromCsv(imported.State.Csv, PlannedDevice, ProfileSource.Imported);

    /// <summary>Measured latencies, and imported rows for the points nothing measured (other shares, other batches).</summary>
    private ProfileTable Merged(List<ProfileRow> measured)
    {
        var points = measured.Select(r => (r.Model, r.Partition, r.Batch)).ToHashSet();
        return new ProfileTable(measured.Concat(Imported().Rows.Where(r => !points.Contains((r.Model, r.Partition, r.Batch)))));
    }

    /// <summary>
    /// A device of the silo with room for the model: GPU-engine devices first for a model the engine runs (a GPU is
    /// why the silo has one), then the least loaded by placed bytes over budget.
    /// </summary>
    private DeviceDescription? ChooseDevice(long bytes, string silo, bool runsOnGpuEngine) =>
        devices.Values
            .Where(d => d.Silo == silo && bytes <= d.MemoryBudgetBytes && (runsOnGpuEngine || d.Kind == "cpu"))
            .OrderBy(d => d.Kind == "cpu" ? 1 : 0)
            .ThenBy(d => (double)placements.Values.Where(p => p.Device == d.Key).Sum(p => p.Bytes) / d.MemoryBudgetBytes)
            .ThenBy(d => d.Key, StringComparer.Ordinal)
            .FirstOrDefault();
}
