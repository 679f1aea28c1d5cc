namespace OrleansServe.ApiHost.Apis;

/// <summary>PUT /v2/admin/profiles: how many profile rows the scheduler now holds.</summary>
public sealed record ProfileImportResponse(int Rows);

/// <summary>One gpulet of POST /v2/admin/devices/{key}/partitions: share of the device's compute in percent, bound models, memory bytes (0: in proportion).</summary>
public sealed record GpuletRequest(int SmPercent, string[]? Models, long MemoryBytes);

/// <summary>POST /v2/admin/devices/{key}/partitions: the gpulets to split the device into.</summary>
public sealed record RepartitionRequest(GpuletRequest[]? Partitions)
{
    /// <summary>A body that splits a device in two, for error messages.</summary>
    public const string Example = """{"partitions":[{"sm_percent":50,"models":["a"],"memory_bytes":0},{"sm_percent":50}]}""";
}

/// <summary>
/// Interference coefficients of gpulet's regression (PUT and GET /v2/admin/interference); <c>device</c> is the
/// scheduler preset the features are taken on.
/// </summary>
public sealed record InterferenceBody(double? MemSelf, double? MemOther, double? CompSelf, double? CompOther, double? Constant, string? Device)
{
    /// <summary>The device preset when the body names none.</summary>
    public const string DefaultDevice = "h100-sxm";

    /// <summary>A valid body, for error messages.</summary>
    public const string Example = """{"mem_self": 0.4, "mem_other": 0.9, "comp_self": 0.2, "comp_other": 0.5, "constant": 1.0, "device": "h100-sxm"}""";

    /// <summary>The body of imported settings.</summary>
    public static InterferenceBody From(Grains.InterferenceSettings s) => new(s.MemSelf, s.MemOther, s.CompSelf, s.CompOther, s.Constant, s.Device);
}
