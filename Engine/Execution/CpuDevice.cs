using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrleansServe.Engine.Tensors;

namespace OrleansServe.Engine.Execution;

/// <summary>Settings of the CPU device.</summary>
public sealed record CpuDeviceOptions
{
    /// <summary>Device threads, i.e. batches that run at once.</summary>
    public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>ONNX Runtime intra-op threads per batch.</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Bytes of model weights that may be resident as live sessions at once.</summary>
    public long MemoryBudgetBytes { get; init; } = 2L << 30;

    /// <summary>How long a swap-in waits for memory held by batches in flight before it is refused.</summary>
    public TimeSpan MemoryWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether ONNX Runtime threads spin while waiting (faster alone, wasteful when the CPU is shared).</summary>
    public bool AllowSpinning { get; init; }
}

/// <summary>
/// The CPU device: models run in ONNX Runtime. Resident means a live inference session made from the host-memory
/// weights; swap-in means building that session; eviction disposes it.
/// </summary>
public sealed class CpuDevice : IExecutionDevice
{
    private readonly CpuDeviceOptions options;
    private readonly HostWeightStore weights;
    private readonly DeviceThreads threads;
    private readonly ResidencyTable<InferenceSession> residency;
    private readonly RunOptions runOptions = new();
    private int inFlight;

    /// <summary>Creates the device and starts its threads.</summary>
    public CpuDevice(string id, CpuDeviceOptions options, HostWeightStore weights)
    {
        Id = id;
        this.options = options;
        this.weights = weights;
        threads = new DeviceThreads($"device-{id}", options.Workers);
        residency = new ResidencyTable<InferenceSession>(options.MemoryBudgetBytes, options.MemoryWait);
        Name = $"CPU ({Environment.ProcessorCount} cores, ONNX Runtime, {options.Workers} workers x {options.IntraOpThreads} threads)";
    }

    /// <inheritdoc />
    public string Id { get; }

    /// <inheritdoc />
    public string Kind => "cpu";

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public long MemoryBudgetBytes => options.MemoryBudgetBytes;

    /// <inheritdoc />
    public async Task EnsureResidentAsync(string model)
    {
        await AcquireAsync(model).ConfigureAwait(false);
        residency.Release(model);
    }

    /// <inheritdoc />
    public async Task<DeviceRunResult> RunAsync(string model, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs)
    {
        var (session, swappedIn) = await AcquireAsync(model).ConfigureAwait(false);
        Interlocked.Increment(ref inFlight);
        try
        {
            var result = await threads.RunAsync(() => Execute(session, inputs, outputs)).ConfigureAwait(false);
            return result with { SwappedIn = swappedIn };
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
            residency.Release(model);
        }
    }

    /// <inheritdoc />
    public bool Evict(string model) => residency.TryEvict(model);

    /// <inheritdoc />
    public IReadOnlyList<PartitionSpec> Partitions => PartitionSpec.WholeDevice;

    /// <inheritdoc />
    public Task RepartitionAsync(IReadOnlyList<PartitionSpec> partitions) =>
        throw new NotSupportedException("the CPU device is not split into gpulets yet");

    /// <inheritdoc />
    public ResidencySnapshot Snapshot() => residency.Snapshot(Volatile.Read(ref inFlight));

    private Task<(InferenceSession Session, bool SwappedIn)> AcquireAsync(string model)
    {
        if (!weights.TryGet(model, out var bytes))
        {
            throw new InvalidOperationException($"model '{model}' has no weights in this process's host memory");
        }
        return residency.AcquireAsync(model, bytes.LongLength, () => threads.RunAsync(() => CreateSession(bytes)));
    }

    private InferenceSession CreateSession(byte[] onnx)
    {
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", options.AllowSpinning ? "1" : "0");
        return new InferenceSession(onnx, sessionOptions);
    }

    private unsafe DeviceRunResult Execute(InferenceSession session, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs)
    {
        var clock = Stopwatch.StartNew();
        var names = new string[inputs.Count];
        var values = new OrtValue[inputs.Count];
        var pins = new System.Buffers.MemoryHandle[inputs.Count];
        try
        {
            for (var i = 0; i < inputs.Count; i++)
            {
                var input = inputs[i];
                names[i] = input.Name;
                pins[i] = input.Data.Pin();
                values[i] = OrtValue.CreateTensorValueWithData(
                    OrtMemoryInfo.DefaultInstance, ToOrt(input.ElementType), input.Shape, (IntPtr)pins[i].Pointer, input.Data.Length);
            }
            var inputNs = clock.Elapsed.Ticks * 100;
            clock.Restart();
            using var results = session.Run(runOptions, names, values, outputs);
            var inferNs = clock.Elapsed.Ticks * 100;
            clock.Restart();
            var tensors = new NamedTensor[outputs.Count];
            var index = 0;
            foreach (var value in results)
            {
                var info = value.GetTensorTypeAndShape();
                var bytes = value.GetTensorMutableRawData().ToArray();
                tensors[index] = new NamedTensor(outputs[index], FromOrt(info.ElementDataType), info.Shape, bytes);
                index++;
            }
            return new DeviceRunResult(tensors, inputNs, inferNs, clock.Elapsed.Ticks * 100, SwappedIn: false);
        }
        finally
        {
            foreach (var value in values)
            {
                value?.Dispose();
            }
            foreach (var pin in pins)
            {
                pin.Dispose();
            }
        }
    }

    private static TensorElementType ToOrt(ElementType type) => type switch
    {
        ElementType.Bool => TensorElementType.Bool,
        ElementType.UInt8 => TensorElementType.UInt8,
        ElementType.UInt16 => TensorElementType.UInt16,
        ElementType.UInt32 => TensorElementType.UInt32,
        ElementType.UInt64 => TensorElementType.UInt64,
        ElementType.Int8 => TensorElementType.Int8,
        ElementType.Int16 => TensorElementType.Int16,
        ElementType.Int32 => TensorElementType.Int32,
        ElementType.Int64 => TensorElementType.Int64,
        ElementType.Fp16 => TensorElementType.Float16,
        ElementType.Fp32 => TensorElementType.Float,
        ElementType.Fp64 => TensorElementType.Double,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static ElementType FromOrt(TensorElementType type) => type switch
    {
        TensorElementType.Bool => ElementType.Bool,
        TensorElementType.UInt8 => ElementType.UInt8,
        TensorElementType.UInt16 => ElementType.UInt16,
        TensorElementType.UInt32 => ElementType.UInt32,
        TensorElementType.UInt64 => ElementType.UInt64,
        TensorElementType.Int8 => ElementType.Int8,
        TensorElementType.Int16 => ElementType.Int16,
        TensorElementType.Int32 => ElementType.Int32,
        TensorElementType.Int64 => ElementType.Int64,
        TensorElementType.Float16 => ElementType.Fp16,
        TensorElementType.Float => ElementType.Fp32,
        TensorElementType.Double => ElementType.Fp64,
        _ => throw new NotSupportedException($"output element type {type} is not supported"),
    };

    /// <summary>Finishes queued work, then drops every session.</summary>
    public void Dispose()
    {
        threads.Dispose();
        residency.Clear();
        runOptions.Dispose();
    }
}
