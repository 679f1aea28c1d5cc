using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using OrleansServe.Engine.Gpu.Native;
using OrleansServe.Engine.Memory;

namespace OrleansServe.Engine.Gpu;

/// <summary>How one smoke check ended.</summary>
public enum SmokeOutcome
{
    /// <summary>It ran and its result was right.</summary>
    Passed,

    /// <summary>It ran and failed, or its result was wrong.</summary>
    Failed,

    /// <summary>It does not apply to this device (a CUDA call on the CPU accelerator) or an earlier check it needs failed.</summary>
    Skipped,
}

/// <summary>One check of <see cref="GpuSmoke"/>.</summary>
/// <param name="Name">Short name, e.g. "cublas".</param>
/// <param name="Required">Whether the engine cannot serve on this device without it.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Detail">What it found (versions, sizes, paths) or why it failed, in one line.</param>
/// <param name="Milliseconds">Wall time it took.</param>
public sealed record SmokeCheck(string Name, bool Required, SmokeOutcome Outcome, string Detail, double Milliseconds)
{
    /// <summary>"PASS cublas: ..." — one line for a log.</summary>
    public string Line => string.Create(CultureInfo.InvariantCulture,
        $"{Outcome switch { SmokeOutcome.Passed => "PASS", SmokeOutcome.Failed => "FAIL", _ => "SKIP" }} {Name}{(Required ? "" : " (optional)")}: {Detail} [{Milliseconds:0.#} ms]");
}

/// <summary>
/// The first seconds on a GPU: each native path the engine depends on, exercised once and checked, so a first run
/// on new hardware says at once what works. On ILGPU's CPU accelerator the CUDA-only checks are skipped.
/// Every check catches its own failure; the next one still runs.
/// </summary>
public static class GpuSmoke
{
    /// <summary>
    /// Runs every check on device <paramref name="ordinal"/> of <paramref name="kind"/>, on the calling thread;
    /// <paramref name="progress"/> sees each as it ends (so what is known survives a native fault in a later one).
    /// </summary>
    public static IReadOnlyList<SmokeCheck> Run(GpuDeviceKind kind, int ordinal = 0, Action<SmokeCheck>? progress = null)
    {
        var checks = new ProgressList(progress);
        var cuda = kind == GpuDeviceKind.Cuda;
        GpuDevice? device = null;
        try
        {
            checks.Add(Check("accelerator", true, () => cuda ? DescribeCuda(ordinal) : "ILGPU CPU accelerator"));
            checks.Add(Check("kernel", true, () =>
            {
                device = GpuDevice.Create(kind, ordinal);
                return LaunchKernel(device);
            }));
            if (device is null || !cuda)
            {
                foreach (var (name, required) in CudaOnly)
                {
                    checks.Add(Skip(name, required, cuda ? "needs the device the kernel check could not make" : "not a CUDA device"));
                }
                return checks;
            }
            var accelerator = (CudaAccelerator)device.Accelerator;
            checks.Add(Check("cublas", true, () => SmallGemm(device)));
            checks.Add(Check("events", true, () => CrossStreamEvent(device)));
            checks.Add(Check("host-registration", true, () => RegisteredCopy(device)));
            checks.Add(Check("cuda-graph", false, () => GraphReplay(device)));
            checks.Add(Check("green-contexts", false, () => GreenContexts(ordinal)));
            checks.Add(Check("green-launch", false, () => GreenLaunch(ordinal)));
            checks.Add(Check("memory", false, () => Reserve(accelerator)));
            return checks;
        }
        finally
        {
            device?.Dispose();
        }
    }

    /// <summary>The CUDA-only checks, in order, and whether each is required.</summary>
    public static IReadOnlyList<(string Name, bool Required)> CudaOnly { get; } =
    [
        ("cublas", true), ("events", true), ("host-registration", true), ("cuda-graph", false), ("green-contexts", false), ("green-launch", false),
        ("memory", false),
    ];

    /// <summary>The checks so far, each handed to the caller's progress as it is added.</summary>
    private sealed class ProgressList(Action<SmokeCheck>? progress) : List<SmokeCheck>
    {
        public new void Add(SmokeCheck check)
        {
            base.Add(check);
            progress?.Invoke(check);
        }
    }

    /// <summary>Whether every required check passed.</summary>
    public static bool RequiredPassed(IEnumerable<SmokeCheck> checks) => checks.All(c => !c.Required || c.Outcome != SmokeOutcome.Failed);

    private static SmokeCheck Check(string name, bool required, Func<string> run)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            return new SmokeCheck(name, required, SmokeOutcome.Passed, run(), clock.Elapsed.TotalMilliseconds);
        }
        catch (Exception e)
        {
            // A smoke check reports whatever went wrong and lets the next one run.
            return new SmokeCheck(name, required, SmokeOutcome.Failed, $"{e.GetType().Name}: {e.Message}", clock.Elapsed.TotalMilliseconds);
        }
    }

    private static SmokeCheck Skip(string name, bool required, string why) => new(name, required, SmokeOutcome.Skipped, why, 0);

    private static string DescribeCuda(int ordinal)
    {
        CudaDriver.EnsureResolvable();
        using var context = Context.Create(b => b.Cuda());
        var devices = context.GetCudaDevices();
        if (ordinal >= devices.Count)
        {
            throw new NotSupportedException($"no CUDA device {ordinal} (ILGPU found {devices.Count}; driver: {CudaDriver.DescribeDriverLibrary()})");
        }
        var d = devices[ordinal];
        using var accelerator = context.CreateCudaAccelerator(ordinal);
        return $"{d.Name}, {d.NumMultiprocessors} SMs, {d.MemorySize / (1024.0 * 1024 * 1024):0.0} GiB, {d.Architecture}, driver API {d.DriverVersion}, " +
            $"library {CudaDriver.DescribeDriverLibrary()}";
    }

    /// <summary>
    /// One launch of an engine kernel, its result read back and checked (the kernel check; also how a caller tells a
    /// device that still works from one a failure has left unusable). Throws when the result is wrong or the launch fails.
    /// </summary>
    public static string LaunchKernel(GpuDevice device)
    {
        const int n = 4097;
        using var buffer = device.Accelerator.Allocate1D<float>(n);
        device.Kernels.Fill(device.Stream, device.Launch(n), buffer.View, n, 2.5f);
        var values = new float[n];
        buffer.View.CopyToCPU(device.Stream, values);
        device.Synchronize();
        Expect(values.All(v => v == 2.5f), "Fill wrote other values than 2.5");
        return device.Accelerator is CudaAccelerator cuda
            ? $"16 engine kernels JIT-compiled, Fill checked; PTX ISA {cuda.InstructionSet}, target {cuda.Architecture}"
            : "engine kernels compiled, Fill checked";
    }

    // A 2x2 SGEMM through the GEMM a half-device gpulet gets, capped to its SMs.
    private static string SmallGemm(GpuDevice device)
    {
        using var partition = device.CreatePartition(50);
        if (partition.Gemm is not CuBlasGemm gemm)
        {
            throw new InvalidOperationException(partition.GemmFallbackReason ?? $"the gpulet runs {partition.Gemm.Name}, not cuBLAS");
        }
        using var a = partition.Accelerator.Allocate1D(new float[] { 1, 2, 3, 4 });
        using var b = partition.Accelerator.Allocate1D(new float[] { 5, 6, 7, 8 });
        using var c = partition.Accelerator.Allocate1D<float>(4);
        gemm.Run(new GemmShape(2, 2, 2), a.View, b.View, c.View);
        var result = new float[4];
        c.View.CopyToCPU(partition.Stream, result);
        partition.Synchronize();
        Expect(result.SequenceEqual([19f, 22f, 43f, 50f]), $"2x2 SGEMM gave [{string.Join(", ", result)}], not [19, 22, 43, 50]");
        return $"{gemm.Name}; SM count target {(partition.GemmSmCapped ? $"{gemm.SmCountTarget} of {partition.Accelerator.NumMultiprocessors}" : "not supported")}, " +
            $"workspace {gemm.WorkspaceBytes >> 20} MiB";
    }

    // Work on one stream, an event recorded after it, a second stream told to wait for the event and then read.
    private static string CrossStreamEvent(GpuDevice device)
    {
        const int n = 1 << 20;
        var api = CudaDriverApi.Load();
        using var first = (CudaStream)device.Accelerator.CreateStream();
        using var second = (CudaStream)device.Accelerator.CreateStream();
        using var source = device.Accelerator.Allocate1D<float>(n);
        using var target = device.Accelerator.Allocate1D<float>(n);
        var done = api.CreateEvent(blockingSync: true);
        try
        {
            device.Kernels.Fill(first, device.Launch(n), source.View, n, 0f);
            // One group of one warp walking the whole buffer: long enough that a copy not held back would read zeros.
            device.Kernels.Fill(first, new KernelConfig(1, device.Accelerator.WarpSize), source.View, n, 7f);
            api.RecordEvent(done, first.StreamPtr);
            api.StreamWaitEvent(second.StreamPtr, done);
            api.CopyDeviceToDeviceAsync(target.NativePtr, source.NativePtr, n * sizeof(float), second.StreamPtr);
            api.SynchronizeEvent(done);
            second.Synchronize();
            var values = new float[n];
            target.View.CopyToCPU(second, values);
            second.Synchronize();
            Expect(values.All(v => v == 7f), "the second stream read before the first stream's work was done");
            return "recorded on one stream, waited on by another, copy checked";
        }
        finally
        {
            api.DestroyEvent(done);
        }
    }

    // Register host memory, copy from it asynchronously, read it back, unregister.
    private static string RegisteredCopy(GpuDevice device)
    {
        const int bytes = 4 << 20;
        var api = CudaDriverApi.Load();
        using var target = device.Accelerator.Allocate1D<byte>(bytes);
        var buffer = new PinnedHostBuffer(bytes, new CudaHostRegistrar(api, device.Accelerator.Bind));
        string locked;
        try
        {
            Expect(buffer.IsRegistered, $"cuMemHostRegister refused the buffer: {buffer.RegistrationFailure}");
            var span = buffer.Bytes(0, bytes);
            for (var i = 0; i < bytes; i++)
            {
                span[i] = (byte)(i * 31);
            }
            var stream = (CudaStream)device.Stream;
            var clock = Stopwatch.StartNew();
            api.CopyHostToDeviceAsync(target.NativePtr, buffer.Pointer, bytes, stream.StreamPtr);
            device.Synchronize();
            var seconds = clock.Elapsed.TotalSeconds;
            var back = new byte[bytes];
            target.View.CopyToCPU(device.Stream, back);
            device.Synchronize();
            Expect(back.AsSpan().SequenceEqual(span), "the device holds other bytes than were copied");
            locked = buffer.IsPageLocked ? "mlock ok" : $"not mlocked ({buffer.LockFailure})";
            locked += string.Create(CultureInfo.InvariantCulture, $", one 4 MiB copy at {bytes / seconds / 1e9:0.0} GB/s");
        }
        finally
        {
            buffer.Dispose();
        }
        Expect(buffer.UnregistrationFailure is null, $"unregistering failed: {buffer.UnregistrationFailure}");
        return $"registered, copied asynchronously, checked, unregistered; {locked}";
    }

    private static string GraphReplay(GpuDevice device)
    {
        const int n = 1024;
        using var buffer = device.Accelerator.Allocate1D<float>(n);
        var stream = (CudaStream)device.Stream;
        device.Kernels.Fill(stream, device.Launch(n), buffer.View, n, 1f);
        device.Synchronize();
        using var graph = CudaGraphCapture.Record(stream.StreamPtr, () => device.Kernels.Fill(stream, device.Launch(n), buffer.View, n, 3f));
        graph.Launch(stream.StreamPtr);
        var values = new float[n];
        buffer.View.CopyToCPU(stream, values);
        device.Synchronize();
        Expect(values.All(v => v == 3f), "the replayed graph did not run its kernel");
        return "a kernel captured on a stream and replayed, result checked";
    }

    private static string GreenContexts(int ordinal)
    {
        var driver = CudaDriverApi.Load();
        if (!driver.HasGreenContexts)
        {
            throw new NotSupportedException($"the driver lacks {string.Join(", ", driver.MissingGreenContextExports)}");
        }
        var api = new GreenContextApi(driver);
        var sms = api.DeviceSms(ordinal);
        var granularity = api.SplitGranularity(ordinal);
        return string.Create(CultureInfo.InvariantCulture,
            $"driver {api.DriverVersion}: exports {string.Join(", ", GreenContextApi.Exports)}; {sms.SmCount} SMs, split granularity {granularity} SMs" +
            $"{(sms.MinPartitionSize is { } min ? $", min partition {min}, co-scheduled alignment {sms.CoscheduledAlignment}" : "")}");
    }

    // On a thread of its own: a green context may be current on one thread at a time, and this one holds the device's.
    private static string GreenLaunch(int ordinal)
    {
        string? detail = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                var sms = new GreenContextApi(CudaDriverApi.Load()).SplitGranularity(ordinal) * 2;
                using var device = GpuDevice.CreateOnGreenContext(ordinal, sms);
                detail = $"a green context of {device.SmCount} SMs ran an engine kernel: {LaunchKernel(device)}; its GEMM: {device.Gemm.Name}";
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
        return detail!;
    }

    private static string Reserve(CudaAccelerator accelerator)
    {
        var (free, total) = CudaDriverApi.Load().GetMemoryInfo();
        var bytes = (long)(free * 0.9);
        using (accelerator.Allocate1D<byte>(bytes))
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"{free / (1024.0 * 1024 * 1024):0.0} of {total / (1024.0 * 1024 * 1024):0.0} GiB free; reserving 90% ({bytes / (1024.0 * 1024 * 1024):0.0} GiB) succeeded");
        }
    }

    private static void Expect(bool condition, string failure)
    {
        if (!condition)
        {
            throw new InvalidOperationException(failure);
        }
    }

    /// <summary>The checks as JSON-ready records (for a benchmark file).</summary>
    public static object Report(IReadOnlyList<SmokeCheck> checks) => new
    {
        passed = RequiredPassed(checks),
        os = RuntimeInformation.OSDescription,
        checks = checks.Select(c => new { c.Name, c.Required, outcome = c.Outcome.ToString().ToLowerInvariant(), c.Detail, c.Milliseconds }),
    };
}
