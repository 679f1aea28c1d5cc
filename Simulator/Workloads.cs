using OrleansServe.Scheduler;

namespace OrleansServe.Simulator;

/// <summary>
/// The workloads of the papers OrleansServe is measured against: gpulet's five scenarios and two apps (equal rates
/// per model), and a serverless population in the shape of Torpor's trace facts.
/// </summary>
public static class Workloads
{
    private const int MaxBatch = 32;

    /// <summary>The eleven zoo architectures, in the zoo's order.</summary>
    public static IReadOnlyList<string> Architectures { get; } = [.. ZooCatalog.All.Select(z => z.Name)];

    /// <summary>Every name <see cref="ByName"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["scenario1", "scenario2", "scenario3", "scenario4", "scenario5", "game", "traffic", "serverless"];

    /// <summary>
    /// A zoo model as the scheduler sees it: gpulet's SLO (FaaSwap's for ResNet-152 and Inception-v3), weight bytes
    /// for swap-in, and resident bytes estimated as weights plus the engine's planned workspace at batch 32.
    /// </summary>
    /// <param name="name">An architecture, optionally suffixed "#k" to name one of several copies.</param>
    /// <param name="sloMs">Overrides the architecture's SLO when given.</param>
    public static ModelSpec Model(string name, double? sloMs = null)
    {
        var architecture = ArchitectureOf(name);
        var zoo = ZooCatalog.Find(architecture)
            ?? throw new ArgumentException($"unknown architecture '{architecture}'; known: {string.Join(", ", Architectures)}", nameof(name));
        return new ModelSpec(name, sloMs ?? zoo.SloMs, zoo.WeightBytes + (MaxBatch * zoo.WorkspaceBatch1), zoo.WeightBytes);
    }

    /// <summary>The architecture a model copy is built from: "resnet50#17" → "resnet50".</summary>
    public static string ArchitectureOf(string model)
    {
        var hash = model.IndexOf('#', StringComparison.Ordinal);
        return hash < 0 ? model : model[..hash];
    }

    /// <summary>gpulet's scenario 1–5 with equal rates per model.</summary>
    public static Workload Scenario(int number) => number switch
    {
        1 => Equal("scenario1", "googlenet", "bert_base", "mnasnet1_0", "mobilenet_v2"),
        2 => Equal("scenario2", "densenet161", "vgg16"),
        3 => Equal("scenario3", "resnet50", "vgg16", "mobilenet_v2"),
        4 => Equal("scenario4", "ssd_mobilenet_v1", "mnasnet1_0", "densenet161"),
        5 => Equal("scenario5", "lenet5", "ssd_mobilenet_v1", "vgg16", "mnasnet1_0"),
        _ => throw new ArgumentOutOfRangeException(nameof(number), number, "gpulet defines scenarios 1 to 5"),
    };

    /// <summary>gpulet's "game" app: six LeNets (lenet5#1..#6) and a ResNet-50, equal rates.</summary>
    public static Workload Game() =>
        Equal("game", [.. Enumerable.Range(1, 6).Select(i => $"lenet5#{i}"), "resnet50"]);

    /// <summary>
    /// gpulet's "traffic" app (SSD feeding GoogLeNet and VGG-16), simplified to three independent streams at the same
    /// rate: the simulator has no request chains, and each detection feeds one request to each classifier.
    /// </summary>
    public static Workload Traffic() => Equal("traffic", "ssd_mobilenet_v1", "googlenet", "vgg16");

    /// <summary>
    /// A Torpor-like serverless population: <paramref name="models"/> copies named "arch#k" of architectures drawn
    /// uniformly (seeded) from the zoo, Zipf popularity whose exponent is chosen so that at
    /// <paramref name="totalRateRps"/> 85% of models see at most one request per minute, and SLOs of 80 ms for vision
    /// and 200 ms for BERT (Torpor's P98 targets; the simulator measures against the same 99% bar as everything else).
    /// </summary>
    public static Workload Serverless(int models = 1000, double totalRateRps = 100, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(models);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalRateRps);
        var random = new Random(seed);
        var exponent = ZipfExponentForColdShare(models, totalRateRps, coldShare: 0.85, coldRateRps: 1.0 / 60);
        // Popularity rank is drawn independently of architecture, so hot models are not all one kind.
        var ranks = Enumerable.Range(1, models).OrderBy(_ => random.Next()).ToArray();
        var streams = new List<WorkloadStream>(models);
        for (var i = 0; i < models; i++)
        {
            var architecture = Architectures[random.Next(Architectures.Count)];
            var slo = architecture == "bert_base" ? 200 : 80;
            streams.Add(new WorkloadStream(Model($"{architecture}#{i + 1}", slo), Math.Pow(ranks[i], -exponent)));
        }
        return new Workload("serverless", streams);
    }

    /// <summary>A workload by name: scenario1..scenario5, game, traffic, serverless (of <paramref name="serverlessModels"/> models).</summary>
    public static Workload ByName(string name, int serverlessModels = 1000) => name switch
    {
        "scenario1" => Scenario(1),
        "scenario2" => Scenario(2),
        "scenario3" => Scenario(3),
        "scenario4" => Scenario(4),
        "scenario5" => Scenario(5),
        "game" => Game(),
        "traffic" => Traffic(),
        "serverless" => Serverless(serverlessModels),
        _ => throw new ArgumentException($"unknown workload '{name}'; known: {string.Join(", ", Names)}", nameof(name)),
    };

    /// <summary>
    /// The Zipf exponent s at which the model of rank ⌊(1 − coldShare)·n⌋ + 1 gets exactly coldRateRps of the total,
    /// so every model from that rank on is at most that cold; zero (uniform) when even that is already cold enough.
    /// </summary>
    internal static double ZipfExponentForColdShare(int models, double totalRateRps, double coldShare, double coldRateRps)
    {
        var firstCold = (int)Math.Floor((1 - coldShare) * models) + 1;
        if (firstCold > models || RateAtRank(0) <= coldRateRps)
        {
            return 0;
        }
        double low = 0, high = 8;
        for (var i = 0; i < 60; i++)
        {
            var mid = (low + high) / 2;
            if (RateAtRank(mid) > coldRateRps)
            {
                low = mid;
            }
            else
            {
                high = mid;
            }
        }
        return high;

        double RateAtRank(double s)
        {
            var harmonic = 0.0;
            for (var k = 1; k <= models; k++)
            {
                harmonic += Math.Pow(k, -s);
            }
            return totalRateRps * Math.Pow(firstCold, -s) / harmonic;
        }
    }

    private static Workload Equal(string name, params string[] models) =>
        new(name, [.. models.Select(m => new WorkloadStream(Model(m), 1))]);
}
