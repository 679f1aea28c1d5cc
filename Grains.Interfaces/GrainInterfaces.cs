using Orleans.Concurrency;

namespace OrleansServe.Grains;

/// <summary>A model (key: model name). Activates with its weights in host memory and batches its requests.</summary>
[Alias("orleansserve.IModelGrain")]
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>Reads the model from the repository into host memory and places it on a device.</summary>
    [Alias("Load")]
    Task<ModelStatus> LoadAsync();

    /// <summary>Stops serving, releases host memory and device residency.</summary>
    [Alias("Unload")]
    Task<ModelStatus> UnloadAsync();

    /// <summary>The model's state in the repository.</summary>
    [Alias("GetStatus")]
    Task<ModelStatus> GetStatusAsync();

    /// <summary>Inputs, outputs and serving configuration; throws <see cref="InferenceException"/> when not loaded.</summary>
    [Alias("GetMetadata")]
    Task<ModelMetadata> GetMetadataAsync();

    /// <summary>Runs one request, batched with others; throws <see cref="InferenceException"/> on refusal.</summary>
    [Alias("Infer")]
    Task<InferenceResponse> InferAsync(InferenceRequest request);

    /// <summary>Success, failure, queue and compute figures since activation.</summary>
    [Alias("GetStatistics")]
    Task<ModelStatistics> GetStatisticsAsync();

    /// <summary>The served version's cost by the engine's graph analysis; null when not loaded or the engine cannot plan it.</summary>
    [Alias("GetCost")]
    Task<ModelCostFeatures?> GetCostAsync();
}

/// <summary>A device (a GPU, or the CPU device of a silo without one), pinned to the silo that owns it.</summary>
[Alias("orleansserve.IGpuGrain")]
public interface IGpuGrain : IGrainWithStringKey
{
    /// <summary>What the device is.</summary>
    [Alias("Describe")]
    Task<DeviceDescription> DescribeAsync();

    /// <summary>Resident models, memory in use and swap figures.</summary>
    [Alias("GetStatus")]
    Task<DeviceStatus> GetStatusAsync();

    /// <summary>Makes a model resident (swap-in) if it is not; a no-op when it is.</summary>
    [Alias("EnsureResident")]
    Task EnsureResidentAsync(string model);

    /// <summary>Runs a batch, swapping the model in first when it is not resident.</summary>
    [Alias("Execute")]
    Task<ExecutionResult> ExecuteAsync(ExecutionBatch batch);

    /// <summary>Drops a model's residency (nothing is copied back: the host copy stays).</summary>
    [Alias("Evict")]
    Task EvictAsync(string model);

    /// <summary>
    /// Splits the device into new gpulets and returns its status once the old gpulets have finished their batches in
    /// flight. New batches go to the new gpulets at once, so no request is lost. Throws <see cref="InferenceException"/>
    /// (<see cref="InferenceErrorKind.BadRequest"/>) for a split the device cannot make, and changes nothing then.
    /// </summary>
    [Alias("Repartition")]
    Task<DeviceStatus> RepartitionAsync(GpuletPlan[] partitions);
}

/// <summary>
/// The devices of one silo (key: the silo's address and "devices"), pinned to that silo. The scheduler asks it
/// which devices a live silo has, so a scheduler activated anew after its silo died rebuilds its device list.
/// </summary>
[Alias("orleansserve.ISiloDevicesGrain")]
public interface ISiloDevicesGrain : IGrainWithStringKey
{
    /// <summary>Every device of the silo.</summary>
    [Alias("Describe")]
    Task<DeviceDescription[]> DescribeAsync();
}

/// <summary>The cluster's scheduler (singleton, key "default"): knows devices and models and owns the plan.</summary>
[Alias("orleansserve.ISchedulerGrain")]
public interface ISchedulerGrain : IGrainWithStringKey
{
    /// <summary>A silo announces one of its devices.</summary>
    [Alias("RegisterDevice")]
    Task RegisterDeviceAsync(DeviceDescription device);

    /// <summary>A silo withdraws a device (shutdown).</summary>
    [Alias("UnregisterDevice")]
    Task UnregisterDeviceAsync(string deviceKey);

    /// <summary>
    /// Replaces the imported profile table with CSV rows <c>model,partition,batch,latency_ms[,device][,source]</c>
    /// (e.g. from <c>Cli profile</c> or <c>swap-bench --measure share</c>), persisted as grain state; returns the row
    /// count. Invalid CSV is refused as a bad request naming every bad line, and the table is left as it was.
    /// </summary>
    [Alias("ImportProfiles")]
    Task<int> ImportProfilesAsync(string csv);

    /// <summary>
    /// Replaces the interference coefficients the planner predicts co-located slowdowns with, persisted as grain
    /// state. Non-finite numbers or an unknown device preset are refused as a bad request and nothing changes.
    /// </summary>
    [Alias("ImportInterference")]
    Task ImportInterferenceAsync(InterferenceSettings settings);

    /// <summary>The imported interference coefficients, or null when the planner runs without interference.</summary>
    [Alias("GetInterference")]
    Task<InterferenceSettings?> GetInterferenceAsync();

    /// <summary>The profile table the planner uses, as CSV: the imported rows merged with the latencies the running models measured.</summary>
    [Alias("ExportProfiles")]
    Task<string> ExportProfilesAsync();

    /// <summary>
    /// Places a model and returns the key of the device that serves it, on <paramref name="silo"/> (where the
    /// model's weights are in host memory). A model the GPU engine can run goes to a GPU device when the silo has
    /// one with room; others go to the CPU device.
    /// </summary>
    /// <param name="model">The model's name.</param>
    /// <param name="bytes">Device bytes of its weights.</param>
    /// <param name="silo">The silo holding its weights.</param>
    /// <param name="runsOnGpuEngine">Whether its weights were packed for GPU devices (the GPU engine can run it).</param>
    [Alias("PlaceModel")]
    Task<string> PlaceModelAsync(string model, long bytes, string silo, bool runsOnGpuEngine);

    /// <summary>Removes a model from the plan.</summary>
    [Alias("RemoveModel")]
    Task RemoveModelAsync(string model);

    /// <summary>The current plan.</summary>
    [Alias("GetPlan")]
    Task<Plan> GetPlanAsync();

    /// <summary>Registered devices.</summary>
    [Alias("GetDevices")]
    Task<DeviceDescription[]> GetDevicesAsync();

    /// <summary>
    /// Re-plans now from the models' EWMA request rates and measured batch latencies, and returns the schedule as
    /// JSON (policy, rates, the planner's plan: gpulets per device, batch sizes, duty cycles, swap-served and
    /// unscheduled models with reasons). Interleaves with other calls, since it asks every model grain for statistics.
    /// </summary>
    [Alias("Replan"), AlwaysInterleave]
    Task<string> ReplanAsync();

    /// <summary>The latest schedule as JSON (re-planned first if there is none yet).</summary>
    [Alias("GetSchedule"), AlwaysInterleave]
    Task<string> GetScheduleAsync();
}

/// <summary>The model repository (singleton, key "default"): the index and load/unload of models.</summary>
[Alias("orleansserve.IRepositoryGrain")]
public interface IRepositoryGrain : IGrainWithStringKey
{
    /// <summary>Every model in the repository folder with its state.</summary>
    [Alias("Index")]
    Task<ModelStatus[]> IndexAsync();

    /// <summary>Loads (or reloads) a model; the status says whether it is ready or why not.</summary>
    [Alias("Load")]
    Task<ModelStatus> LoadAsync(string model);

    /// <summary>
    /// Loads (or reloads) a model with a config.json of its own in place of the repository's (Triton's load with a
    /// "config" parameter). The override is kept as cluster state, so the model keeps it across reloads, failover and
    /// restarts until a plain <see cref="LoadAsync"/> or an unload drops it. An invalid config is refused as a bad
    /// request and nothing changes.
    /// </summary>
    [Alias("LoadWithConfig")]
    Task<ModelStatus> LoadWithConfigAsync(string model, string config);

    /// <summary>The config.json a model was loaded with in place of the repository's, or null.</summary>
    [Alias("GetConfigOverride"), AlwaysInterleave]
    Task<string?> GetConfigOverrideAsync(string model);

    /// <summary>Unloads a model.</summary>
    [Alias("Unload")]
    Task<ModelStatus> UnloadAsync(string model);

    /// <summary>Loads every model in the repository; called once at start.</summary>
    [Alias("LoadAll")]
    Task<ModelStatus[]> LoadAllAsync();

    /// <summary>Whether a model is meant to be served (loaded and not since unloaded).</summary>
    [Alias("IsLoaded"), AlwaysInterleave]
    Task<bool> IsLoadedAsync(string model);
}
