using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using OrleansServe.Engine.Gpu.Kernels;

namespace OrleansServe.Engine.UnitTests.Gpu;

/// <summary>
/// Compiles every engine kernel with ILGPU's PTX backend for the GPUs these servers carry (sm_90, H100/H200),
/// without a GPU: a construct the CUDA backend cannot translate fails here rather than on the first GPU run.
/// </summary>
public sealed class KernelPtxTests
{
    public static TheoryData<string> Kernels => [.. KernelMethods().Select(m => $"{m.DeclaringType!.Name}.{m.Name}")];

    private static IEnumerable<MethodInfo> KernelMethods() =>
        new[] { typeof(ElementwiseKernels), typeof(NeuralKernels) }
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.ReturnType == typeof(void) && m.GetParameters().FirstOrDefault()?.ParameterType == typeof(ArrayView<float>));

    [Theory]
    [MemberData(nameof(Kernels))]
    public void Kernel_compiles_to_ptx_for_sm_90(string kernel)
    {
        var method = KernelMethods().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == kernel);
        using var context = Context.Create(b => b.Cuda().EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var specialization = KernelSpecialization.Empty;

        var compiled = (PTXCompiledKernel)backend.Compile(entry, specialization);

        Assert.Contains($".entry Kernel_{method.Name}", compiled.PTXAssembly);
    }

    [Fact]
    public void Kernel_list_covers_every_kernel_the_device_loads()
    {
        var loaded = typeof(Engine.Gpu.GpuDevice).Assembly.GetType("OrleansServe.Engine.Gpu.KernelSet")!
            .GetFields(BindingFlags.Public | BindingFlags.Instance).Select(f => f.Name).ToHashSet();
        Assert.Subset(KernelMethods().Select(m => m.Name).ToHashSet(), loaded);
    }
}
