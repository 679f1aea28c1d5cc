using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Grains.Devices;
using OrleansServe.Grains.Hosting;
using OrleansServe.Grains.Repository;
using OrleansServe.Grains.Scheduling;
using OrleansServe.Onnx;
using OrleansServe.Scheduler.Runtime;

namespace OrleansServe.Grains.Models;

/// <summary>
/// A model (key: its name). Loading reads the newest version into this silo's host memory and places it on a
/// device; requests queue here and leave as batches of up to max_batch_size, formed while the device is busy
/// (and, if max_queue_delay_ms is set, while the first request waits at most that long for company).
/// </summary>
[Reentrant] // Requests must queue while a batch runs; queue and counters change only between awaits, on this activation.
// The weights go into the host memory of the silo that activates the model, so models spread over the silos (the
// least busy of two sampled) rather than piling onto the silo that loaded the repository.
[ActivationCountBasedPlacement]
public sealed class ModelGrain(
    DeviceHost host,
    ModelRepository repository,
    IOptions<OrleansServeOptions> options,
    ILocalSiloDetails silo,
    TimeProvider time,
    ILogger<ModelGrain> logger) : Grain, IModelGrain
{
    private sealed record Pending(PreparedRequest Prepared, long EnqueuedAt, TaskCompletionSource<InferenceResponse> Completion);

    private enum Phase { Unknown, Absent, Unloaded, Ready, Unavailable }

    private readonly LinkedList<Pending> queue = new();
    private readonly StatisticsCounter statistics = new();
    // Batches sent to the device and not yet done, oldest first: their send time and samples.
    private readonly LinkedList<(long DispatchedAt, int Size)> running = new();
    private Phase phase;
    private string? reason;
    private ServedModel? served;
    private Task? loading;
    private int queuedSamples;
    private IGrainTimer? delayTimer;

    /// <summary>
    /// When a load that failed for a reason that passes (no device yet, the scheduler or a device unreachable while
    /// the cluster changes) may be tried again by the next request; null when the failure is the model's own.
    /// </summary>
    private long? retryLoadAt;

    /// <summary>Set while a reload waits for the old version's batches in flight: no batch leaves until the new version is in place.</summary>
    private TaskCompletionSource? drained;

    /// <summary>The served version's cost for the scheduler's interference features (null: the engine cannot plan it).</summary>
    private ModelCostFeatures? cost;

    /// <summary>How long a model whose load failed for a passing reason refuses requests before a request tries again.</summary>
    private static readonly TimeSpan LoadRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between tries: each passing failure in a row doubles the wait up to this.</summary>
    private static readonly TimeSpan LoadRetryDelayLimit = TimeSpan.FromSeconds(30);

    /// <summary>Passing load failures in a row (0 once a load succeeds).</summary>
    private int passingFailures;


    private string Name => this.GetPrimaryKeyString();

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        FailQueued(InferenceErrorKind.Unavailable, $"model '{Name}' is being deactivated");
        try
        {
            await ReleaseAsync();
        }
        catch (Exception e)
        {
            // At silo shutdown the device and scheduler may already be gone; their state goes with them.
            logger.LogDebug(e, "Model {Model} released its residency without the device", Name);
        }
    }

    /// <inheritdoc />
    public async Task<ModelStatus> LoadAsync()
    {
        await LoadOnceAsync(reload: true);
        return Status();
    }

    /// <inheritdoc />
    public async Task<ModelStatus> UnloadAsync()
    {
        if (loading is not null)
        {
            await loading;
        }
        if (phase == Phase.Absent)
        {
            throw NotFound();
        }
        phase = Phase.Unloaded;
        reason = null;
        FailQueued(InferenceErrorKind.Unavailable, $"model '{Name}' was unloaded");
        await ReleaseAsync();
        served = null;
        return Status();
    }

    /// <inheritdoc />
    public async Task<ModelStatus> GetStatusAsync()
    {
        await InitializeAsync();
        if (phase == Phase.Absent)
        {
            throw NotFound();
        }
        return Status();
    }

    /// <inheritdoc />
    public async Task<ModelMetadata> GetMetadataAsync()
    {
        var model = await ReadyModelAsync();
        return model.ToMetadata([model.Version]);
    }

    /// <inheritdoc />
    public async Task<ModelStatistics> GetStatisticsAsync()
    {
        await InitializeAsync();
        if (phase == Phase.Absent)
        {
            throw NotFound();
        }
        return statistics.Snapshot(Name, served?.Version ?? repository.ListVersions(Name).LastOrDefault() ?? "");
    }

    /// <inheritdoc />
    public async Task<ModelCostFeatures?> GetCostAsync()
    {
        await InitializeAsync();
        return phase == Phase.Ready ? cost : null;
    }

    /// <inheritdoc />
    public async Task<InferenceResponse> InferAsync(InferenceRequest request)
    {
        var model = await ReadyModelAsync();
        if (request.Version is not null && request.Version != model.Version)
        {
            throw new InferenceException(InferenceErrorKind.NotFound, $"model '{Name}' serves version {model.Version}, not '{request.Version}'");
        }
        var started = time.GetTimestamp();
        PreparedRequest prepared;
        try
        {
            prepared = model.Prepare(request);
        }
        catch (InferenceException)
        {
            statistics.Failed(ElapsedNs(started));
            throw;
        }
        if (queue.Count >= model.Config.MaxQueueSize)
        {
            statistics.Failed(ElapsedNs(started));
            throw new InferenceException(InferenceErrorKind.Overloaded, $"model '{Name}' has {queue.Count} requests queued, its max_queue_size");
        }
        if (Admit(model, request.WaitedMs) is { } refusal)
        {
            statistics.Failed(ElapsedNs(started));
            throw new InferenceException(InferenceErrorKind.Overloaded, $"model '{Name}' refused the request: {refusal}");
        }
        var pending = new Pending(prepared, started, new TaskCompletionSource<InferenceResponse>(TaskCreationOptions.RunContinuationsAsynchronously));
        queue.AddLast(pending);
        queuedSamples += prepared.BatchSize;
        Dispatch();
        return await pending.Completion.Task;
    }

    /// <summary>
    /// Clockwork's rule in the request path: why a request must be refused at once, or null to admit it. Only models
    /// whose config.json sets slo_ms are held to it, and only with batches running or samples queued ahead (a request
    /// with nothing ahead starts at once, so refusing it frees nothing). The prediction uses what this grain really
    /// does: the time the request spent before it got here (<see cref="InferenceRequest.WaitedMs"/>), what is left of
    /// the batches on the device, then full batches of max_batch_size for the queue ahead, then this request's own
    /// batch of what is left plus itself, each at the latency measured for that batch size (see
    /// <see cref="StatisticsCounter.BatchLatency"/>); with nothing measured yet the request is admitted.
    /// </summary>
    private string? Admit(ServedModel model, double waitedMs)
    {
        if (!options.Value.Scheduler.Admission || !model.Config.SloMsSet || (queuedSamples == 0 && running.Count == 0)
            || statistics.BatchLatency(model.MaxBatchSize) is not { } fullBatchMs
            || statistics.BatchLatency(queuedSamples % model.MaxBatchSize + 1) is not { } ownBatchMs)
        {
            return null;
        }
        var runningMs = AdmissionControl.RemainingMs(running.Select(batch =>
            new RunningBatch(time.GetElapsedTime(batch.DispatchedAt).TotalMilliseconds, statistics.BatchLatency(batch.Size) ?? fullBatchMs)));
        var decision = AdmissionControl.Decide(queuedSamples, model.MaxBatchSize, ownBatchMs, fullBatchMs, model.Config.SloMs, runningMs,
            double.IsFinite(waitedMs) && waitedMs > 0 ? waitedMs : 0);
        return decision.Admitted ? null : decision.Reason;
    }

    /// <summary>
    /// Sends batches while this model has in-flight room. With max_queue_delay_ms a batch that is not full waits
    /// for company until its first request has waited that long (<paramref name="delayElapsed"/>: it has).
    /// </summary>
    private void Dispatch(bool delayElapsed = false)
    {
        var model = served;
        while (model is not null && drained is null && running.Count < options.Value.MaxInflightBatchesPerModel && queue.Count > 0)
        {
            var delay = model.Config.MaxQueueDelayMs;
            if (!delayElapsed && delay > 0 && queuedSamples < model.MaxBatchSize)
            {
                var remaining = TimeSpan.FromMilliseconds(delay) - time.GetElapsedTime(queue.First!.Value.EnqueuedAt);
                if (remaining > TimeSpan.Zero)
                {
                    delayTimer ??= this.RegisterGrainTimer(OnDelayElapsedAsync, new GrainTimerCreationOptions(remaining, Timeout.InfiniteTimeSpan) { Interleave = true });
                    return;
                }
            }
            delayElapsed = false;
            var batch = TakeBatch(model.MaxBatchSize);
            var sent = running.AddLast((time.GetTimestamp(), batch.Sum(p => p.Prepared.BatchSize)));
            _ = RunBatchAsync(model, batch, sent);
        }
    }

    private Task OnDelayElapsedAsync(CancellationToken cancellationToken)
    {
        delayTimer?.Dispose();
        delayTimer = null;
        Dispatch(delayElapsed: true);
        return Task.CompletedTask;
    }

    /// <summary>The oldest request and, in arrival order, those that stack with it, up to the batch limit.</summary>
    private List<Pending> TakeBatch(int maxBatchSize)
    {
        var first = queue.First!;
        var batch = new List<Pending> { first.Value };
        var size = first.Value.Prepared.BatchSize;
        queue.Remove(first);
        var scanned = 0;
        for (var node = queue.First; node is not null && size < maxBatchSize && scanned < 4 * maxBatchSize; scanned++)
        {
            var next = node.Next;
            var candidate = node.Value.Prepared;
            if (candidate.StackKey == first.Value.Prepared.StackKey && size + candidate.BatchSize <= maxBatchSize)
            {
                batch.Add(node.Value);
                size += candidate.BatchSize;
                queue.Remove(node);
            }
            node = next;
        }
        queuedSamples -= size;
        return batch;
    }

    private async Task RunBatchAsync(ServedModel model, List<Pending> batch, LinkedListNode<(long DispatchedAt, int Size)> sent)
    {
        try
        {
            var dispatchedAt = sent.Value.DispatchedAt;
            foreach (var pending in batch)
            {
                statistics.Queued(ElapsedNs(pending.EnqueuedAt, dispatchedAt));
            }
            try
            {
                await ExecuteAsync(model, batch);
            }
            catch (InferenceException e) when (e.Kind == InferenceErrorKind.ExecutionFailed && batch.Count > 1)
            {
                // One request's values can fail a whole batch: run each alone so only that one fails.
                foreach (var pending in batch)
                {
                    await ExecuteOrFailAsync(model, [pending]);
                }
            }
            catch (Exception e)
            {
                Fail(batch, e);
            }
        }
        finally
        {
            running.Remove(sent);
            if (running.Count == 0)
            {
                drained?.TrySetResult();
            }
            Dispatch();
        }
    }

    private async Task ExecuteOrFailAsync(ServedModel model, List<Pending> batch)
    {
        try
        {
            await ExecuteAsync(model, batch);
        }
        catch (Exception e)
        {
            Fail(batch, e);
        }
    }

    private async Task ExecuteAsync(ServedModel model, List<Pending> batch)
    {
        var inputs = BatchTensors.Stack(batch.Select(p => p.Prepared).ToList());
        var result = await model.Device.ExecuteAsync(new ExecutionBatch(Name, inputs, model.OutputNames));
        var size = batch.Sum(p => p.Prepared.BatchSize);
        statistics.Executed(size, batch.Count, result.ComputeInputNs, result.ComputeInferNs, result.ComputeOutputNs, time.GetUtcNow().ToUnixTimeMilliseconds());
        var split = BatchTensors.Split(result.Outputs, batch.Select(p => p.Prepared.BatchSize).ToList());
        for (var i = 0; i < batch.Count; i++)
        {
            var prepared = batch[i].Prepared;
            var outputs = prepared.Outputs.Select(name => split[i][Array.IndexOf(model.OutputNames, name)]).ToArray();
            statistics.Succeeded(ElapsedNs(batch[i].EnqueuedAt));
            batch[i].Completion.TrySetResult(new InferenceResponse(Name, model.Version, prepared.Request.Id, outputs));
        }
    }

    private void Fail(List<Pending> batch, Exception e)
    {
        var error = e as InferenceException ?? new InferenceException(InferenceErrorKind.ExecutionFailed, $"model '{Name}' failed: {e.Message}");
        if (e is not InferenceException)
        {
            logger.LogError(e, "Batch of model {Model} failed", Name);
        }
        foreach (var pending in batch)
        {
            statistics.Failed(ElapsedNs(pending.EnqueuedAt));
            pending.Completion.TrySetException(error);
        }
    }

    private void FailQueued(InferenceErrorKind kind, string message)
    {
        var error = new InferenceException(kind, message);
        foreach (var pending in queue)
        {
            pending.Completion.TrySetException(error);
        }
        queue.Clear();
        queuedSamples = 0;
    }

    private async Task<ServedModel> ReadyModelAsync()
    {
        await InitializeAsync();
        if (phase == Phase.Unavailable && retryLoadAt is { } at && time.GetTimestamp() >= at && loading is null)
        {
            await LoadOnceAsync(reload: false);
        }
        return phase switch
        {
            Phase.Ready => served!,
            Phase.Absent => throw NotFound(),
            Phase.Unloaded => throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' is not loaded"),
            _ => throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' is unavailable: {reason}"),
        };
    }

    /// <summary>On first use, loads the model if the repository says it should be served.</summary>
    private async Task InitializeAsync()
    {
        if (phase != Phase.Unknown)
        {
            return;
        }
        if (repository.ListVersions(Name).Count == 0)
        {
            phase = Phase.Absent;
            DeactivateOnIdle();
            return;
        }
        var repositoryGrain = GrainFactory.GetGrain<IRepositoryGrain>(RepositoryGrain.Key);
        if (await repositoryGrain.IsLoadedAsync(Name))
        {
            await LoadOnceAsync(reload: false);
        }
        else if (phase == Phase.Unknown)
        {
            phase = Phase.Unloaded;
        }
    }

    private async Task LoadOnceAsync(bool reload)
    {
        if (loading is not null)
        {
            await loading;
            if (!reload)
            {
                return;
            }
        }
        loading = LoadCoreAsync();
        try
        {
            await loading;
        }
        finally
        {
            loading = null;
        }
    }

    private async Task LoadCoreAsync()
    {
        ModelFiles files;
        try
        {
            files = await Task.Run(() => repository.ReadLatest(Name));
            // A config given at load stands in for the repository's (checked when it was given).
            if (await GrainFactory.GetGrain<IRepositoryGrain>(RepositoryGrain.Key).GetConfigOverrideAsync(Name) is { } config)
            {
                files = files with { Config = ModelConfig.Parse(System.Text.Encoding.UTF8.GetBytes(config), Name) };
            }
        }
        catch (ModelRepositoryException e) when (e.NotFound)
        {
            phase = Phase.Absent;
            reason = e.Message;
            throw NotFound();
        }
        catch (Exception e) when (e is ModelRepositoryException or IOException or UnauthorizedAccessException)
        {
            SetUnavailable(e.Message);
            return;
        }
        // Whether the scheduler placed the model: a refusal after that is the device's, not the cluster's.
        var placed = false;
        try
        {
            var signature = OnnxModelReader.ReadSignature(files.OnnxBytes);
            if (served is not null)
            {
                // The old version's batches pin its residency, and an evict skips a pinned model: wait for them, so
                // that the new version really replaces it and no batch runs the old weights after the reload.
                drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (running.Count == 0)
                {
                    drained.TrySetResult();
                }
                await drained.Task;
                await served.Device.EvictAsync(Name);
            }
            // Off the grain's thread: on a silo with a GPU this also reads the graph and packs its weights.
            var measured = await Task.Run(() =>
            {
                host.Weights.Put(Name, files.OnnxBytes);
                return ModelCost.TryMeasure(files.OnnxBytes);
            });
            var packed = host.Weights.TryGetPacked(Name, out var weights) ? weights : null;
            var scheduler = GrainFactory.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);
            var deviceKey = await scheduler.PlaceModelAsync(
                Name, packed?.Layout.TotalBytes ?? files.OnnxBytes.LongLength, silo.SiloAddress.ToParsableString(), packed is not null);
            placed = true;
            var device = GrainFactory.GetGrain<IGpuGrain>(deviceKey);
            var model = new ServedModel(Name, files, signature, device, deviceKey);
            // The first swap-in proves the file runs; a broken model is refused here rather than on a request.
            await device.EnsureResidentAsync(Name);
            served = model;
            cost = measured is null ? null
                : new ModelCostFeatures(measured.FlopsPerItem, measured.WeightBytes, measured.ActivationBytesPerItem, measured.WorkspaceBytesBatch1, measured.Layers);
            phase = Phase.Ready;
            reason = null;
            retryLoadAt = null;
            passingFailures = 0;
            logger.LogInformation("Model {Model} version {Version} ready on {Device}", Name, model.Version, deviceKey);
            Dispatch();
        }
        catch (Exception e) when (IsPassing(e, placed))
        {
            SetUnavailable(e.Message, retry: true);
        }
        catch (Exception e) when (e is InvalidModelException or InferenceException or Engine.Execution.DeviceMemoryException or Engine.Memory.HostMemoryException)
        {
            SetUnavailable(e.Message);
            // A model that cannot run holds no place in the plan.
            await GrainFactory.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).RemoveModelAsync(Name);
        }
        finally
        {
            if (drained is not null)
            {
                drained = null;
                Dispatch();
            }
        }
    }

    /// <summary>
    /// A load failure of the cluster rather than of the model: the scheduler had no device for this silo yet
    /// (Unavailable before placement) or a grain the load needs could not be reached. Loading again later can
    /// succeed. A device's refusal after placement is the model's own and is not retried.
    /// </summary>
    private static bool IsPassing(Exception e, bool placed) =>
        e is OrleansException or TimeoutException || (e is InferenceException { Kind: InferenceErrorKind.Unavailable } && !placed);

    private void SetUnavailable(string why, bool retry = false)
    {
        logger.LogWarning("Model {Model} is unavailable{Retry}: {Reason}", Name, retry ? " for now" : "", why);
        phase = Phase.Unavailable;
        reason = why;
        if (retry)
        {
            // 1 s, 2 s, 4 s ... up to the limit, so a cluster that stays short of devices is not asked on every request.
            var delay = TimeSpan.FromTicks(Math.Min(LoadRetryDelayLimit.Ticks, LoadRetryDelay.Ticks << Math.Min(passingFailures, 5)));
            passingFailures++;
            retryLoadAt = time.GetTimestamp() + (long)(delay.TotalSeconds * time.TimestampFrequency);
        }
        else
        {
            retryLoadAt = null;
        }
        served = null;
        host.Weights.Remove(Name);
        FailQueued(InferenceErrorKind.Unavailable, $"model '{Name}' is unavailable: {why}");
    }

    private async Task ReleaseAsync()
    {
        host.Weights.Remove(Name);
        if (served is { } model)
        {
            await model.Device.EvictAsync(Name);
            await GrainFactory.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).RemoveModelAsync(Name);
        }
    }

    private ModelStatus Status() => new(Name, served?.Version ?? repository.ListVersions(Name).LastOrDefault(), phase switch
    {
        Phase.Ready => ModelState.Ready,
        Phase.Unavailable => ModelState.Unavailable,
        _ => ModelState.Unloaded,
    }, reason);

    private InferenceException NotFound() => new(InferenceErrorKind.NotFound, $"model '{Name}' is not in the repository");

    private long ElapsedNs(long from) => ElapsedNs(from, time.GetTimestamp());

    private long ElapsedNs(long from, long to) => time.GetElapsedTime(from, to).Ticks * 100;
}
