namespace OrleansServe.Simulator;

/// <summary>
/// The full-size zoo architectures as the simulator needs them: gpulet's SLOs (FaaSwap's for ResNet-152 and
/// Inception-v3) and the engine's graph-analysis features (bench/profiles/zoo-features.csv).
/// </summary>
internal static class ZooCatalog
{
    public static readonly Architecture[] All =
    [
        new("lenet5", 5, 839_394, 246_824, 32_416, 100_864),
        new("googlenet", 66, 3_009_355_968, 26_470_496, 23_524_960, 11_189_248),
        new("resnet50", 108, 8_185_794_560, 102_121_888, 67_348_384, 18_264_064),
        new("resnet152", 80, 23_042_306_048, 240_468_384, 143_615_904, 18_264_064),
        new("vgg16", 142, 30_946_650_112, 553_430_176, 60_348_320, 141_897_728),
        new("mobilenet_v2", 64, 601_827_648, 13_951_264, 27_587_104, 6_823_936),
        new("mnasnet1_0", 62, 629_186_112, 17_457_408, 23_002_272, 3_813_376),
        new("densenet161", 202, 15_523_372_992, 115_422_880, 298_792_096, 33_718_272),
        new("inception_v3", 80, 11_450_962_624, 95_269_408, 57_404_832, 37_106_432),
        new("ssd_mobilenet_v1", 202, 2_475_654_392, 27_228_668, 39_780_192, 12_600_064),
        new("bert_base", 22, 22_443_792_640, 437_136_588, 218_638_848, 5_112_320),
    ];

    public static Architecture? Find(string architecture) => All.FirstOrDefault(a => a.Name == architecture);

    public sealed record Architecture(string Name, double SloMs, double FlopsPerItem, long WeightBytes, long ActivationBytesPerItem, long WorkspaceBatch1);
}
