using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrleansServe.Engine.Execution;
using OrleansServe.Tensors;

namespace OrleansServe.Engine.OnnxRuntime;

/// <summary>
/// A gpulet of the CPU device: a share of the machine's cores, given to ONNX Runtime as each session's intra-op
/// threads, with its own device threads and its own residency within its memory share. Resident means a live
/// inference session on this gpulet (ONNX Runtime fixes a session's thread count when it is made, so sessions are
/// never shared between gpulets); swap-in means building one; eviction disposes it.
/// </summary>
public sealed class CpuGpulet : Gpulet<InferenceSession>
{
    private readonly CpuDeviceOptions options;
    private readonly HostWeightStore weights;
    private readonly DeviceThreads threads;
    private readonly RunOptions runOptions = new();

    /// <summary>Creates the gpulet and starts its device threads.</summary>
    /// <param name="name">Names its threads, e.g. "cpu0-g1".</param>
    /// <param name="smPercent">Share of the device's cores, 1 to 100.</param>
    /// <param name="memoryBudgetBytes">Bytes of live sessions this gpulet may hold.</param>
    /// <param name="options">The device's settings (cores, workers per gpulet, memory wait, eviction, spinning).</param>
    /// <param name="weights">Host memory the sessions are built from.</param>
    /// <param name="hasReplicaElsewhere">Whether a model is resident on another gpulet of the device (see <see cref="Gpulet{TResident}"/>); null: never.</param>
    public CpuGpulet(
        string name, int smPercent, long memoryBudgetBytes, CpuDeviceOptions options, HostWeightStore weights,
        Func<string, IGpulet, bool>? hasReplicaElsewhere = null)
        : base(smPercent, memoryBudgetBytes, new ResidencyOptions(memoryBudgetBytes)
        {
            MemoryWait = options.MemoryWait,
            Policy = options.Eviction,
            LightModelBytes = options.LightModelBytes,
        }, hasReplicaElsewhere)
    {
        IntraOpThreads = IntraOpThreadsFor(smPercent, options.Cores);
        this.options = options;
        this.weights = weights;
        threads = new DeviceThreads(name, Math.Max(1, options.WorkersPerGpulet));
    }

    /// <summary>ONNX Runtime intra-op threads for a share of <paramref name="cores"/>: max(1, round(share × cores)).</summary>
    public static int IntraOpThreadsFor(int smPercent, int cores) =>
        Math.Max(1, (int)Math.Round(smPercent / 100.0 * cores, MidpointRounding.AwayFromZero));

    /// <summary>ONNX Runtime intra-op threads of every session on this gpulet.</summary>
    public int IntraOpThreads { get; }

    /// <summary>Device threads, i.e. batches this gpulet runs at once.</summary>
    public int Workers => threads.Count;

    /// <inheritdoc />
    public override bool CanHold(string model) => !weights.TryGet(model, out var bytes) || bytes.LongLength <= MemoryBudgetBytes;

    /// <inheritdoc />
    protected override async Task<(InferenceSession Resident, bool SwappedIn)> AcquireAsync(string model)
    {
        if (!weights.TryGet(model, out var bytes))
        {
            throw new InvalidOperationException($"model '{model}' has no weights in this process's host memory");
        }
        // The table makes swap-ins that wait for memory take turns, so a busy resident model cannot starve them.
        return await Residency.AcquireAsync(model, bytes.LongLength, () => threads.RunAsync(() => CreateSession(bytes))).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override Task<DeviceRunResult> ExecuteAsync(InferenceSession resident, IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string> outputs) =>
        threads.RunAsync(() => Execute(resident, inputs, outputs));

    private InferenceSession CreateSession(byte[] onnx)
    {
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = IntraOpThreads,
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
    public override void Dispose()
    {
        threads.Dispose();
        Residency.Clear();
        runOptions.Dispose();
    }
}
