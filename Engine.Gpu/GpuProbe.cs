using System.Globalization;
using System.Text;
using ILGPU;
using ILGPU.Runtime.Cuda;
using OrleansServe.Engine.Gpu.Native;
using CuBlasException = OrleansServe.Engine.Gpu.Native.CuBlasException;

namespace OrleansServe.Engine.Gpu;

/// <summary>One CUDA device as ILGPU sees it.</summary>
/// <param name="Index">ILGPU's CUDA device index.</param>
/// <param name="Name">The device's name, e.g. "NVIDIA H100 80GB HBM3".</param>
/// <param name="Multiprocessors">Streaming multiprocessors (SMs).</param>
/// <param name="MemoryBytes">Device memory.</param>
/// <param name="Architecture">Compute capability as ILGPU names it (e.g. "SM_90"), or "unknown" when ILGPU does not know it.</param>
/// <param name="DriverVersion">The CUDA driver API version, e.g. "13.0".</param>
/// <param name="InstructionSet">The PTX ISA ILGPU would compile for, or null when it cannot target the device.</param>
public sealed record CudaDeviceReport(
    int Index, string Name, int Multiprocessors, long MemoryBytes, string Architecture, string DriverVersion, string? InstructionSet);

/// <summary>What <see cref="GpuProbe"/> found.</summary>
/// <param name="DriverLibrary">Which CUDA driver library loads, or why none does.</param>
/// <param name="Devices">CUDA devices; empty on a machine without CUDA.</param>
/// <param name="CuBlas">The cuBLAS probe: the library loaded, or every place probed.</param>
/// <param name="CuBlasVersion">cuBLAS's version, when it loaded and said.</param>
/// <param name="CuBlasSmCountTarget">Whether that cuBLAS can cap SMs (cublasSetSmCountTarget).</param>
/// <param name="Problems">What went wrong along the way, in words; empty when nothing did.</param>
public sealed record GpuProbeReport(
    string DriverLibrary,
    IReadOnlyList<CudaDeviceReport> Devices,
    string CuBlas,
    string? CuBlasVersion,
    bool CuBlasSmCountTarget,
    IReadOnlyList<string> Problems)
{
    /// <summary>
    /// Whether the driver exports the green-context calls (<see cref="GreenContextApi.Exports"/>; CUDA 12.4 and later):
    /// "yes", "no (lacks ...)", or "unknown (why)". The engine partitions SMs by grid caps; the benchmark compares the two.
    /// </summary>
    public string GreenContexts { get; init; } = "unknown (not probed)";

    /// <summary>Whether there is a CUDA device to run on.</summary>
    public bool HasCudaDevice => Devices.Count > 0;

    /// <summary>A few lines for logs and benchmark headers.</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"CUDA driver library: {DriverLibrary}\n");
        if (Devices.Count == 0)
        {
            text.Append("CUDA devices: no CUDA device\n");
        }
        foreach (var device in Devices)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"CUDA device {device.Index}: {device.Name}, {device.Multiprocessors} SMs, {device.MemoryBytes / (1024.0 * 1024 * 1024):0.0} GiB, " +
                $"{device.Architecture}, driver {device.DriverVersion}, " +
                $"{(device.InstructionSet is { } isa ? $"PTX ISA {isa}" : "ILGPU cannot target it")}\n");
        }
        text.Append(CultureInfo.InvariantCulture,
            $"green contexts (CUDA >= 12.4; the engine's gpulets use grid caps, the benchmark compares): driver exports every call they need: {GreenContexts}\n");
        text.Append(CultureInfo.InvariantCulture, $"{CuBlas}\n");
        if (CuBlasVersion is not null)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"cuBLAS version {CuBlasVersion}, SM count target {(CuBlasSmCountTarget ? "supported" : "unsupported")}\n");
        }
        foreach (var problem in Problems)
        {
            text.Append(CultureInfo.InvariantCulture, $"problem: {problem}\n");
        }
        return text.ToString();
    }
}

/// <summary>
/// Reports what GPU support this machine has: the CUDA driver library, CUDA devices through ILGPU, and cuBLAS.
/// Never throws for missing hardware or libraries; a machine without CUDA reports "no CUDA device".
/// </summary>
public static class GpuProbe
{
    /// <summary>Probes the machine.</summary>
    /// <param name="cuBlasPaths">Full paths tried first for cuBLAS (see <see cref="CudaLibraries"/>).</param>
    public static GpuProbeReport Run(IReadOnlyList<string>? cuBlasPaths = null)
    {
        CudaDriver.EnsureResolvable();
        var problems = new List<string>();
        var driverLibrary = CudaDriver.DescribeDriverLibrary();
        var devices = ProbeDevices(problems);
        if (devices.Count == 0 && !driverLibrary.StartsWith("not found", StringComparison.Ordinal) && !CudaAPI.CurrentAPI.IsSupported)
        {
            problems.Add(
                $"{driverLibrary} loads but ILGPU's CUDA API is unavailable: cuInit failed, or ILGPU first looked for the driver " +
                $"before {nameof(CudaDriver)}.{nameof(CudaDriver.EnsureResolvable)} ran (resolver: {CudaDriver.LastResolution ?? "not asked"})");
        }
        if (CudaDriver.LastResolution is { } resolution)
        {
            driverLibrary += $" (ILGPU: {resolution})";
        }

        var cuBlas = CudaLibraries.ProbeCuBlas(cuBlasPaths);
        string? version = null;
        var smCountTarget = false;
        if (cuBlas.Loaded is { } loaded)
        {
            try
            {
                var native = new CuBlasNative(loaded);
                version = native.LibraryVersion;
                smCountTarget = native.SupportsSmCountTarget;
            }
            catch (Exception e) when (e is EntryPointNotFoundException or CuBlasException)
            {
                problems.Add(e.Message);
            }
        }

        return new GpuProbeReport(driverLibrary, devices, cuBlas.Describe(), version, smCountTarget, problems)
        {
            GreenContexts = ProbeGreenContexts(),
        };
    }

    private static string ProbeGreenContexts()
    {
        try
        {
            var driver = CudaDriverApi.Load();
            return driver.HasGreenContexts ? "yes" : $"no (lacks {string.Join(", ", driver.MissingGreenContextExports)})";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"unknown ({e.Message})";
        }
    }

    private static List<CudaDeviceReport> ProbeDevices(List<string> problems)
    {
        var devices = new List<CudaDeviceReport>();
        try
        {
            // Every device, including ones ILGPU cannot compile for, so the report can say so.
            using var context = Context.Create(builder => builder.Cuda(_ => true));
            var index = 0;
            foreach (var device in context.GetCudaDevices())
            {
                devices.Add(new CudaDeviceReport(
                    index++,
                    device.Name,
                    device.NumMultiprocessors,
                    device.MemorySize,
                    device.Architecture?.ToString() ?? "unknown",
                    device.DriverVersion.ToString(),
                    device.InstructionSet?.ToString()));
            }
        }
        catch (Exception e) when (e is CudaException or DllNotFoundException or EntryPointNotFoundException or NotSupportedException or InvalidOperationException)
        {
            problems.Add($"listing CUDA devices failed: {e.GetType().Name}: {e.Message}");
        }
        return devices;
    }
}
