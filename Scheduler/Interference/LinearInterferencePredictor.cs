using MathNet.Numerics.LinearAlgebra;

namespace OrleansServe.Scheduler.Interference;

/// <summary>Coefficients of slowdown = c1·mem_self + c2·mem_other + c3·comp_self + c4·comp_other + c5.</summary>
public sealed record InterferenceCoefficients(double MemSelf, double MemOther, double CompSelf, double CompOther, double Constant);

/// <summary>
/// gpulet's linear interference model with this project's features: the slowdown of a model is linear in its own and
/// its neighbour's memory and compute fractions of the whole GPU (<see cref="InterferenceFeatures.MemoryFraction"/>,
/// <see cref="InterferenceFeatures.ComputeFraction"/>), fitted by least squares to co-location measurements, and
/// clamped at 1 (a neighbour never speeds a model up). Immutable: <see cref="Refit"/> returns a new predictor.
/// </summary>
public sealed class LinearInterferencePredictor : IInterferencePredictor
{
    /// <summary>Fewest measurements a fit accepts: one per coefficient.</summary>
    public const int MinimumMeasurements = 5;

    private LinearInterferencePredictor(InterferenceFeatureSource features, InterferenceCoefficients coefficients, IReadOnlyList<CoLocationMeasurement> measurements)
    {
        Features = features;
        Coefficients = coefficients;
        Measurements = measurements;
    }

    /// <summary>A predictor with given coefficients (no measurements behind it).</summary>
    public LinearInterferencePredictor(InterferenceFeatureSource features, InterferenceCoefficients coefficients)
        : this(features, coefficients, [])
    {
    }

    public InterferenceFeatureSource Features { get; }

    public InterferenceCoefficients Coefficients { get; }

    /// <summary>The measurements the coefficients were fitted to.</summary>
    public IReadOnlyList<CoLocationMeasurement> Measurements { get; }

    /// <summary>Least-squares fit to the measurements (minimum-norm when the features do not determine every coefficient).</summary>
    /// <exception cref="ArgumentException">Fewer than <see cref="MinimumMeasurements"/> measurements, or a slowdown that is not a positive number.</exception>
    public static LinearInterferencePredictor Fit(InterferenceFeatureSource features, IEnumerable<CoLocationMeasurement> measurements)
    {
        var list = measurements.ToList();
        if (list.Count < MinimumMeasurements)
        {
            throw new ArgumentException($"{list.Count} measurement(s); a fit needs at least {MinimumMeasurements}", nameof(measurements));
        }
        if (list.FirstOrDefault(m => !double.IsFinite(m.Slowdown) || m.Slowdown <= 0) is { } bad)
        {
            throw new ArgumentException($"slowdown {bad.Slowdown} of {bad.Model} beside {bad.Neighbour} is not a positive number", nameof(measurements));
        }
        var x = Matrix<double>.Build.DenseOfRowArrays(list.Select(m => Regressors(features, m.Model, m.Partition, m.Neighbour, m.NeighbourPartition)));
        var y = Vector<double>.Build.DenseOfEnumerable(list.Select(m => m.Slowdown));
        // The pseudo-inverse (SVD) rather than QR: measurements of one neighbour pair, or features that move together,
        // leave the design matrix rank-deficient, and the minimum-norm solution is still a usable predictor.
        var c = x.PseudoInverse() * y;
        return new LinearInterferencePredictor(features, new InterferenceCoefficients(c[0], c[1], c[2], c[3], c[4]), list);
    }

    /// <summary>A predictor fitted to the earlier measurements and the new ones together.</summary>
    public LinearInterferencePredictor Refit(IEnumerable<CoLocationMeasurement> newMeasurements) => Fit(Features, Measurements.Concat(newMeasurements));

    /// <inheritdoc/>
    public double Slowdown(string model, int partition, string neighbour, int neighbourPartition) =>
        Math.Max(1.0, Unclamped(model, partition, neighbour, neighbourPartition));

    /// <summary>The linear model's value before clamping at 1.</summary>
    public double Unclamped(string model, int partition, string neighbour, int neighbourPartition)
    {
        var r = Regressors(Features, model, partition, neighbour, neighbourPartition);
        var c = Coefficients;
        return c.MemSelf * r[0] + c.MemOther * r[1] + c.CompSelf * r[2] + c.CompOther * r[3] + c.Constant * r[4];
    }

    /// <summary>Relative errors of the (clamped) predictions on measurements not used in the fit.</summary>
    public PredictionErrors Evaluate(IEnumerable<CoLocationMeasurement> heldOut) => PredictionErrors.Of(RelativeErrors(this, heldOut));

    /// <summary>|predicted − actual| / actual for each measurement.</summary>
    public static IEnumerable<double> RelativeErrors(IInterferencePredictor predictor, IEnumerable<CoLocationMeasurement> measurements) =>
        measurements.Select(m => Math.Abs(predictor.Slowdown(m.Model, m.Partition, m.Neighbour, m.NeighbourPartition) - m.Slowdown) / m.Slowdown);

    private static double[] Regressors(InterferenceFeatureSource features, string model, int partition, string neighbour, int neighbourPartition)
    {
        var self = features.For(model, partition);
        var other = features.For(neighbour, neighbourPartition);
        return [self.MemoryFraction, other.MemoryFraction, self.ComputeFraction, other.ComputeFraction, 1.0];
    }
}
