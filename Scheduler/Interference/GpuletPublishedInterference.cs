namespace OrleansServe.Scheduler.Interference;

/// <summary>gpulet's published coefficients on L2 and DRAM utilisation of the model and its neighbour.</summary>
public sealed record GpuletCoefficients(double L2Self, double L2Other, double DramSelf, double DramOther, double Constant)
{
    /// <summary>Fitted by gpulet on RTX 2080 Ti.</summary>
    public static GpuletCoefficients Rtx2080Ti { get; } = new(0.1129, 0.7160, 0.3549, 0.0882, 0.8954);

    /// <summary>Fitted by gpulet on RTX 3080.</summary>
    public static GpuletCoefficients Rtx3080 { get; } = new(-0.1799, 0.0384, 0.1255, -0.0565, 1.0184);
}

/// <summary>
/// gpulet's interference model with its published coefficients, as a stand-in until this project has its own
/// measurements. gpulet's regressors are L2 and DRAM utilisations from Nsight; we have neither, so the estimated
/// memory fraction of the whole GPU (<see cref="InterferenceFeatures.MemoryFraction"/>) stands for both. The figures
/// were fitted on other GPUs and other kernels: use it for shape, not for numbers.
/// </summary>
public sealed class GpuletPublishedInterference(InterferenceFeatureSource features, GpuletCoefficients? coefficients = null) : IInterferencePredictor
{
    public GpuletCoefficients Coefficients { get; } = coefficients ?? GpuletCoefficients.Rtx2080Ti;

    /// <inheritdoc/>
    public double Slowdown(string model, int partition, string neighbour, int neighbourPartition)
    {
        var self = features.For(model, partition).MemoryFraction;
        var other = features.For(neighbour, neighbourPartition).MemoryFraction;
        var c = Coefficients;
        return Math.Max(1.0, c.L2Self * self + c.L2Other * other + c.DramSelf * self + c.DramOther * other + c.Constant);
    }
}
