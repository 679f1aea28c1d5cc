namespace OrleansServe.Scheduler.Profiles;

/// <summary>What the roofline estimate needs to know about a GPU type.</summary>
/// <param name="Name">Device type as written in profile rows ("h100-sxm").</param>
/// <param name="PeakFlopsPerSecond">Peak fp32 FLOP/s without tensor cores (the engine runs fp32 CUDA-core kernels).</param>
/// <param name="MemoryBytesPerSecond">Peak DRAM bandwidth.</param>
/// <param name="MemoryBytes">Device memory.</param>
/// <param name="ComputeEfficiency">Fraction of peak FLOP/s reached once the SMs are full (large batches).</param>
/// <param name="MemoryEfficiency">Fraction of peak bandwidth reached by streaming kernels.</param>
/// <param name="LaunchSecondsPerLayer">Fixed cost of one kernel launch, paid once per layer per batch.</param>
/// <param name="HalfEfficiencyBatch">
/// Batch at which a whole GPU reaches half of <paramref name="ComputeEfficiency"/>; a gpulet needs proportionally fewer
/// items (its share of the SMs) to fill. Calibrated on V100 against Torpor's ResNet-50 figure, kept for the others.
/// </param>
/// <param name="BandwidthSaturationShare">
/// SM share at which a gpulet can draw the whole DRAM bandwidth: fewer SMs cannot issue enough requests to saturate
/// it, so a partition p gets min(1, p / this) of the bandwidth.
/// </param>
public sealed record DeviceSpec(
    string Name,
    double PeakFlopsPerSecond,
    double MemoryBytesPerSecond,
    int SmCount,
    long MemoryBytes,
    double ComputeEfficiency = 0.6,
    double MemoryEfficiency = 0.75,
    double LaunchSecondsPerLayer = 5e-6,
    double HalfEfficiencyBatch = 11.25,
    double BandwidthSaturationShare = 0.5)
{
    /// <summary>H100 SXM: 67 TFLOP/s fp32, 3.35 TB/s, 132 SMs, 80 GB.</summary>
    public static DeviceSpec H100Sxm { get; } = new("h100-sxm", 67e12, 3.35e12, 132, 80_000_000_000);

    /// <summary>H200: the H100's compute with 4.8 TB/s and 141 GB.</summary>
    public static DeviceSpec H200 { get; } = new("h200", 67e12, 4.8e12, 132, 141_000_000_000);

    /// <summary>V100 (Torpor's testbed): 15.7 TFLOP/s fp32, 900 GB/s, 80 SMs, 32 GB.</summary>
    public static DeviceSpec V100 { get; } = new("v100", 15.7e12, 900e9, 80, 32_000_000_000);

    /// <summary>RTX 2080 Ti (gpulet's testbed): 13.4 TFLOP/s fp32, 616 GB/s, 68 SMs, 11 GB.</summary>
    public static DeviceSpec Rtx2080Ti { get; } = new("rtx2080ti", 13.4e12, 616e9, 68, 11_000_000_000);

    /// <summary>The presets above.</summary>
    public static IReadOnlyList<DeviceSpec> Presets { get; } = [H100Sxm, H200, V100, Rtx2080Ti];

    /// <summary>Fraction of the compute a partition gets: its SM share.</summary>
    public static double ComputeShare(int partition) => partition / 100.0;

    /// <summary>Fraction of the DRAM bandwidth a partition can draw (see <paramref name="BandwidthSaturationShare"/>).</summary>
    public double MemoryShare(int partition) => Math.Min(1.0, ComputeShare(partition) / BandwidthSaturationShare);
}
