using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OrleansServe.Engine.Execution;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Onnx;

namespace OrleansServe.Cli.Inference;

/// <summary>Where `run` and `bench` execute a model.</summary>
public enum RunDevice
{
    /// <summary>The engine on an NVIDIA GPU.</summary>
    Cuda,

    /// <summary>The engine's kernels on ILGPU's CPU accelerator (slow; for checking results without a GPU).</summary>
    IlgpuCpu,

    /// <summary>ONNX Runtime on the CPU, the reference.</summary>
    OrtCpu,
}

/// <summary>One loaded model on one device, behind the same calls whatever runs it.</summary>
public interface IModelRunner : IDisposable
{
    /// <summary>What runs the model, for printed and saved results.</summary>
    string Description { get; }

    /// <summary>Which GEMM runs (the engine: cuBLAS or the ILGPU kernel, and why); null for ONNX Runtime.</summary>
    string? Gemm { get; }

    /// <summary>Runs one forward pass and returns the graph outputs.</summary>
    NamedTensor[] Run(IReadOnlyList<NamedTensor> inputs);

    /// <summary>Runs the forward pass only, inputs already in place (the engine's compute; ONNX Runtime's whole run).</summary>
    void RunCompute(IReadOnlyList<NamedTensor> inputs);
}

public static class ModelRunners
{
    public static RunDevice Parse(string name) => name switch
    {
        "cuda" => RunDevice.Cuda,
        "ilgpu-cpu" => RunDevice.IlgpuCpu,
        "ort-cpu" => RunDevice.OrtCpu,
        _ => throw new ArgumentException($"unknown device '{name}'; use cuda, ilgpu-cpu or ort-cpu"),
    };

    /// <summary>Loads a model; for the engine this optimizes the graph and uploads the weights.</summary>
    /// <exception cref="ModelPlanException">The engine cannot run the model.</exception>
    /// <exception cref="NotSupportedException">The device is not present.</exception>
    /// <param name="cudaGraphs">Replay the engine's forward pass from a CUDA graph (CUDA only).</param>
    /// <param name="worker">The engine's device to load onto, kept by the caller (several models share one device and
    /// its compiled kernels); null starts a device of the runner's own.</param>
    public static IModelRunner Load(RunDevice device, byte[] model, int ortThreads = 0, bool cudaGraphs = false, DeviceWorker? worker = null) => device switch
    {
        RunDevice.OrtCpu => new OrtRunner(model, ortThreads),
        _ => EngineRunner.Load(device == RunDevice.Cuda ? GpuDeviceKind.Cuda : GpuDeviceKind.IlgpuCpu, model, cudaGraphs, worker),
    };

    /// <summary>The engine kind a run device stands for; null for ONNX Runtime.</summary>
    public static GpuDeviceKind? EngineKind(RunDevice device) => device switch
    {
        RunDevice.Cuda => GpuDeviceKind.Cuda,
        RunDevice.IlgpuCpu => GpuDeviceKind.IlgpuCpu,
        _ => null,
    };

    private sealed class EngineRunner(DeviceWorker worker, DeviceModel model, bool ownsWorker) : IModelRunner
    {
        public string Description => worker.Description;

        public string? Gemm => worker.GemmDescription + (model.CudaGraphFailure is { } failure ? $"; CUDA graph not used: {failure}" : "");

        public static EngineRunner Load(GpuDeviceKind kind, byte[] bytes, bool cudaGraphs, DeviceWorker? shared)
        {
            var graph = OnnxGraph.Read(bytes);
            var worker = shared ?? DeviceWorker.StartAsync(kind).GetAwaiter().GetResult();
            try
            {
                return new EngineRunner(worker, worker.Run(device =>
                {
                    var model = DeviceModel.Load(device, graph);
                    model.UseCudaGraphs = cudaGraphs;
                    return model;
                }), shared is null);
            }
            catch when (shared is null)
            {
                worker.Dispose();
                throw;
            }
        }

        public NamedTensor[] Run(IReadOnlyList<NamedTensor> inputs) => worker.Run(_ => model.Run(inputs));

        public void RunCompute(IReadOnlyList<NamedTensor> inputs)
        {
            var shapes = inputs.ToDictionary(i => i.Name, i => i.Shape.Select(d => (int)d).ToArray());
            worker.Run(device =>
            {
                model.RunStepsOnly(shapes);
                device.Synchronize();
                return true;
            });
        }

        public void Dispose()
        {
            worker.Run(_ =>
            {
                model.Dispose();
                return true;
            });
            if (ownsWorker)
            {
                worker.Dispose();
            }
        }
    }

    private sealed class OrtRunner : IModelRunner
    {
        private readonly InferenceSession session;
        private readonly SessionOptions options;

        public OrtRunner(byte[] model, int threads)
        {
            options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
            session = new InferenceSession(model, options);
            Description = $"ort-cpu: ONNX Runtime CPU ({(threads == 0 ? "all cores" : $"{threads} threads")})";
        }

        public string Description { get; }

        public string? Gemm => null;

        public NamedTensor[] Run(IReadOnlyList<NamedTensor> inputs)
        {
            var values = inputs.ToDictionary(i => i.Name, ToOrt);
            try
            {
                using var runOptions = new RunOptions();
                var names = session.OutputNames;
                using var results = session.Run(runOptions, values, names);
                var outputs = new NamedTensor[names.Count];
                for (var i = 0; i < names.Count; i++)
                {
                    var info = results[i].GetTensorTypeAndShape();
                    var type = Tensors.ElementTypes.TryFromOnnxCode((int)info.ElementDataType, out var t) ? t : Tensors.ElementType.Fp32;
                    outputs[i] = new NamedTensor(names[i], type, info.Shape, results[i].GetTensorDataAsSpan<byte>().ToArray());
                }
                return outputs;
            }
            finally
            {
                foreach (var value in values.Values)
                {
                    value.Dispose();
                }
            }
        }

        public void RunCompute(IReadOnlyList<NamedTensor> inputs) => Run(inputs);

        private static OrtValue ToOrt(NamedTensor tensor)
        {
            var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)Tensors.ElementTypes.ToOnnxCode(tensor.ElementType), tensor.Shape);
            tensor.Data.Span.CopyTo(value.GetTensorMutableRawData());
            return value;
        }

        public void Dispose()
        {
            session.Dispose();
            options.Dispose();
        }
    }
}
