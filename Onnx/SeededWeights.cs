namespace OrleansServe.Onnx;

/// <summary>
/// Deterministic weight initialization for generated models: the same seed gives the same values, in
/// any process, so sample models are byte-identical from run to run. Uses its own SplitMix64 stream
/// rather than <see cref="Random"/>, whose seeded sequence the runtime does not promise to keep.
/// </summary>
public sealed class SeededWeights(ulong seed)
{
    private ulong _state = seed;

    /// <summary>He (Kaiming) normal initialization: N(0, 2 / fanIn), suited to layers followed by Relu.</summary>
    public float[] HeNormal(int count, int fanIn) => Normal(count, 0, Math.Sqrt(2.0 / fanIn));

    /// <summary>Values drawn from N(mean, std²) with the Box-Muller transform.</summary>
    public float[] Normal(int count, double mean, double std)
    {
        var values = new float[count];
        for (var i = 0; i < count; i += 2)
        {
            // 1 - u keeps the logarithm's argument in (0, 1].
            var radius = Math.Sqrt(-2.0 * Math.Log(1.0 - NextUnit()));
            var angle = 2.0 * Math.PI * NextUnit();
            values[i] = (float)(mean + std * radius * Math.Cos(angle));
            if (i + 1 < count)
            {
                values[i + 1] = (float)(mean + std * radius * Math.Sin(angle));
            }
        }
        return values;
    }

    /// <summary>Values drawn uniformly from [low, high).</summary>
    public float[] Uniform(int count, double low, double high)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = (float)(low + (high - low) * NextUnit());
        }
        return values;
    }

    /// <summary>A double uniform in [0, 1) from the top 53 bits of the next SplitMix64 output.</summary>
    private double NextUnit() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    private ulong NextUInt64()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
