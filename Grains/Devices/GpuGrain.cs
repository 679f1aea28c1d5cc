using Microsoft.ML.OnnxRuntime;
using OrleansServe.Engine.Execution;
using OrleansServe.Grains.Hosting;

namespace OrleansServe.Grains.Devices;

/// <summary>
/// A device of a silo (a GPU, or the CPU device), pinned there by its key. The device itself is thread-safe and
/// works on its own threads; this grain only forwards to it.
/// </summary>
[SiloBoundPlacement]
[Reentrant] // Holds no state of its own: batches of many models must overlap on the device.
public sealed class GpuGrain(DeviceHost host) : Grain, IGpuGrain
{
    private IExecutionDevice device = null!;
    private DeviceDescription description = null!;

    /// <inheritdoc />
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var key = this.GetPrimaryKeyString();
        var (silo, localId) = SiloBoundPlacement.Parse(key);
        if (!host.TryGet(localId, out device))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"this silo has no device '{localId}'");
        }
        description = DeviceHost.Describe(silo, device);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<DeviceDescription> DescribeAsync() => Task.FromResult(description);

    /// <inheritdoc />
    public Task<DeviceStatus> GetStatusAsync() => Task.FromResult(Status());

    /// <inheritdoc />
    public async Task<DeviceStatus> RepartitionAsync(GpuletPlan[] partitions)
    {
        if (partitions is null || partitions.Length == 0 || partitions.Any(p => p is null))
        {
            throw new InferenceException(InferenceErrorKind.BadRequest, $"device '{description.Key}': a split needs at least one gpulet");
        }
        var specs = partitions.Select(p => new PartitionSpec(p.SmPercent, p.Models ?? [], p.MemoryBytes)).ToList();
        try
        {
            await device.RepartitionAsync(specs);
        }
        catch (ArgumentException e)
        {
            var reason = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
            throw new InferenceException(InferenceErrorKind.BadRequest, $"device '{description.Key}' cannot be split so: {reason}");
        }
        catch (ObjectDisposedException)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, "the device is shutting down");
        }
        return Status();
    }

    private DeviceStatus Status()
    {
        var snapshot = device.Snapshot();
        var gpulets = snapshot.Gpulets
            .Select(g => new GpuletStatus(
                g.Index, g.SmPercent, [.. g.Models], g.Residency.BudgetBytes, g.Residency.UsedBytes,
                Math.Max(0, g.Residency.BudgetBytes - g.Residency.UsedBytes), ToWire(g.Residency.Resident),
                g.Residency.InFlight, g.Residency.SwapIns, g.Residency.Evictions))
            .ToArray();
        return new DeviceStatus(
            description, snapshot.UsedBytes, ToWire(snapshot.Resident), snapshot.SwapIns, snapshot.Evictions, snapshot.InFlight,
            Math.Max(0, device.MemoryBudgetBytes - snapshot.UsedBytes), gpulets);
    }

    private static Residency[] ToWire(IReadOnlyList<ResidentModel> resident) => [.. resident.Select(r => new Residency(r.Model, r.Bytes, r.Pins))];

    /// <inheritdoc />
    public async Task EnsureResidentAsync(string model)
    {
        try
        {
            await device.EnsureResidentAsync(model);
        }
        catch (Exception e) when (e is not InferenceException)
        {
            throw Translate(e, model);
        }
    }

    /// <inheritdoc />
    public async Task<ExecutionResult> ExecuteAsync(ExecutionBatch batch)
    {
        var inputs = new NamedTensor[batch.Inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            inputs[i] = batch.Inputs[i].ToEngine();
        }
        DeviceRunResult result;
        try
        {
            result = await device.RunAsync(batch.Model, inputs, batch.Outputs);
        }
        catch (Exception e) when (e is not InferenceException)
        {
            throw Translate(e, batch.Model);
        }
        var outputs = new Tensor[result.Outputs.Length];
        for (var i = 0; i < outputs.Length; i++)
        {
            outputs[i] = result.Outputs[i].ToWire();
        }
        return new ExecutionResult(outputs, result.ComputeInputNs, result.ComputeInferNs, result.ComputeOutputNs, result.SwappedIn);
    }

    /// <inheritdoc />
    public Task EvictAsync(string model)
    {
        device.Evict(model);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Turns device failures into refusals the caller can act on. Runtime errors on valid shapes come from input
    /// values (ExecutionFailed, a 400, and the model grain retries a batch's requests alone); anything else is the
    /// server's fault (Unavailable, a 503), so a fault is neither blamed on the request nor re-run per request.
    /// </summary>
    private static InferenceException Translate(Exception e, string model) => e switch
    {
        DeviceMemoryException => new InferenceException(InferenceErrorKind.Overloaded, e.Message),
        OnnxRuntimeException => new InferenceException(InferenceErrorKind.ExecutionFailed, $"model '{model}' failed to run: {e.Message}"),
        Onnx.ModelPlanException => new InferenceException(InferenceErrorKind.ExecutionFailed, $"model '{model}': {e.Message}"),
        ObjectDisposedException => new InferenceException(InferenceErrorKind.Unavailable, "the device is shutting down"),
        SwapInException => new InferenceException(InferenceErrorKind.Unavailable, e.Message),
        _ => new InferenceException(InferenceErrorKind.Unavailable, $"model '{model}' could not run on this device: {e.Message}"),
    };
}
