using System.CommandLine;
using System.Text.Json.Nodes;
using OrleansServe.Engine.Gpu;
using OrleansServe.Engine.Gpu.Planning;
using OrleansServe.Engine.Memory;

namespace OrleansServe.Cli.UnitTests.Benchmarks;

/// <summary>The swapping benchmarks' own plumbing, on ILGPU's CPU accelerator with a registrar that behaves like the driver.</summary>
public sealed class SwapBenchTests : IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("orleansserve-swapbench-").FullName;

    /// <summary>Refuses a range overlapping one it holds, as cuMemHostRegister does (CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED).</summary>
    private sealed class DriverLikeRegistrar : IHostMemoryRegistrar
    {
        private readonly Lock gate = new();
        private readonly Dictionary<IntPtr, long> live = [];

        public int Registrations { get; private set; }

        public List<bool> DeviceGoneAtUnregistration { get; } = [];

        public GpuExecutionDevice? Device { get; set; }

        public bool TryRegister(IntPtr pointer, long bytes, out string? failure)
        {
            lock (gate)
            {
                if (live.Any(r => pointer < r.Key + (nint)r.Value && r.Key < pointer + (nint)bytes))
                {
                    failure = "cuMemHostRegister_v2 failed: CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED (712)";
                    return false;
                }
                live[pointer] = bytes;
                Registrations++;
                failure = null;
                return true;
            }
        }

        public bool TryUnregister(IntPtr pointer, out string? failure)
        {
            lock (gate)
            {
                DeviceGoneAtUnregistration.Add(Device?.IsDisposed ?? false);
                failure = live.Remove(pointer) ? null : "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED (713)";
                return failure is null;
            }
        }

        public int Live
        {
            get
            {
                lock (gate)
                {
                    return live.Count;
                }
            }
        }
    }

    [Fact]
    public async Task Bandwidth_registers_its_pinned_buffer_once_and_measures_every_size_from_it()
    {
        var registrar = new DriverLikeRegistrar();
        using var worker = await DeviceWorker.StartAsync(GpuDeviceKind.IlgpuCpu);
        long[] sizes = [64 << 10, 1 << 20, 4 << 20];

        var measured = worker.Run(d => TransferBandwidth.Measure(d, sizes, 2, registrar));
        var points = measured.Points;

        Assert.Null(measured.PinnedFailure);
        Assert.Equal(sizes.SelectMany(s => new[] { ("pageable", s), ("pinned", s) }), points.Select(p => (p.Memory, p.Bytes)));
        Assert.All(points, p => Assert.True(p.BestGbPerSecond > 0));
        Assert.Equal(1, registrar.Registrations);
        Assert.Equal(0, registrar.Live);
    }

    [Fact]
    public async Task Bandwidth_still_measures_pageable_copies_when_the_driver_refuses_the_pinned_buffer()
    {
        using var worker = await DeviceWorker.StartAsync(GpuDeviceKind.IlgpuCpu);
        var refusing = new RefusingRegistrar();

        var measured = worker.Run(d => TransferBandwidth.Measure(d, [64 << 10], 1, refusing));

        Assert.Equal("cuMemHostRegister_v2 failed: CUDA_ERROR_NOT_PERMITTED (800)", measured.PinnedFailure);
        Assert.Equal(["pageable"], measured.Points.Select(p => p.Memory));
        Assert.Equal(measured.Points[0].MedianGbPerSecond, measured.SwapBandwidthGbPerSecond);
    }

    private sealed class RefusingRegistrar : IHostMemoryRegistrar
    {
        public bool TryRegister(IntPtr pointer, long bytes, out string? failure)
        {
            failure = "cuMemHostRegister_v2 failed: CUDA_ERROR_NOT_PERMITTED (800)";
            return false;
        }

        public bool TryUnregister(IntPtr pointer, out string? failure)
        {
            failure = "never registered";
            return false;
        }
    }

    [Fact]
    public async Task The_weights_leave_the_host_store_while_the_device_is_still_there()
    {
        var registrar = new DriverLikeRegistrar();
        var bytes = ModelZoo.Build("lenet5_tiny");
        var bench = await SwapMeasurements.StartAsync(GpuDeviceKind.IlgpuCpu, [new BenchModel("lenet5_tiny", bytes, OnnxGraph.Read(bytes))],
            Engine.Gpu.SwapMode.Pipelined, 16L << 20, 1L << 20, registrar);
        registrar.Device = bench.Gpu;
        await bench.SwapInOnceAsync("lenet5_tiny");

        bench.Dispose();

        Assert.True(registrar.Registrations > 0);
        Assert.Equal(0, registrar.Live);
        Assert.Equal(registrar.Registrations, registrar.DeviceGoneAtUnregistration.Count);
        Assert.DoesNotContain(true, registrar.DeviceGoneAtUnregistration);
    }

    [Fact]
    public void Cold_start_measures_the_transfer_then_run_baseline_after_the_pipelined_device_is_gone()
    {
        var json = Path.Combine(work, "swap.json");

        var status = new RootCommand { SwapBenchCommand.Create() }.Parse(
            ["swap-bench", "--device", "ilgpu-cpu", "--measure", "coldstart", "--sizes", "1048576", "--models", "lenet5_tiny", "--repeats", "2", "--json", json]).Invoke();

        Assert.Equal(0, status);
        var report = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Empty(report["errors"]!.AsObject());
        var cold = report["cold_start"]!.AsArray().Single()!;
        Assert.True((double)cold["transfer_then_run_cold_ms"]! > 0);
        Assert.True((double)cold["pipelined_cold_ms"]! > 0);
        Assert.Single(report["swap_in"]!.AsArray());
    }

    [Fact]
    public void A_part_that_cannot_run_is_recorded_by_name_and_the_others_still_run()
    {
        var json = Path.Combine(work, "parts.json");

        var status = new RootCommand { SwapBenchCommand.Create() }.Parse(
            ["swap-bench", "--device", "ilgpu-cpu", "--measure", "green,bandwidth", "--sizes", "65536", "--models", "lenet5_tiny", "--repeats", "1", "--json", json]).Invoke();

        Assert.Equal(1, status);
        var report = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Equal("NotSupportedException: green contexts are a CUDA feature", (string?)report["errors"]!["green"]);
        Assert.Equal(2, report["bandwidth"]!.AsArray().Count);
    }

    public void Dispose() => Directory.Delete(work, recursive: true);
}
