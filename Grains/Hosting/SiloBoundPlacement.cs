using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace OrleansServe.Grains.Hosting;

/// <summary>
/// Places a grain on the silo named in its key ("{silo address}/{local id}"): a device grain must live where its
/// device is. If that silo is gone the activation is refused rather than placed elsewhere.
/// </summary>
[Serializable, GenerateSerializer, Immutable, Alias("orleansserve.SiloBoundPlacement")]
public sealed class SiloBoundPlacement : PlacementStrategy
{
    internal static SiloBoundPlacement Instance { get; } = new();

    /// <summary>Builds the key of a grain bound to <paramref name="silo"/>.</summary>
    public static string Key(SiloAddress silo, string localId) => $"{silo.ToParsableString()}/{localId}";

    /// <summary>Splits a key made by <see cref="Key"/>.</summary>
    public static (SiloAddress Silo, string LocalId) Parse(string key)
    {
        var slash = key.LastIndexOf('/');
        if (slash <= 0 || slash == key.Length - 1)
        {
            throw new ArgumentException($"'{key}' is not a silo-bound key");
        }
        return (SiloAddress.FromParsableString(key[..slash]), key[(slash + 1)..]);
    }
}

/// <summary>Marks a grain class as placed by <see cref="SiloBoundPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloBoundPlacementAttribute() : PlacementAttribute(SiloBoundPlacement.Instance);

internal sealed class SiloBoundPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString()!;
        var (silo, _) = SiloBoundPlacement.Parse(key);
        if (!context.GetCompatibleSilos(target).Contains(silo))
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"device '{key}' is gone: its silo is not in the cluster");
        }
        return Task.FromResult(silo);
    }
}
