namespace OrleansServe.Engine.Gpu.Native;

/// <summary>The SMs of a device or of a group split from it (a CUdevResource of type SM).</summary>
/// <param name="SmCount">SMs in the resource.</param>
/// <param name="MinPartitionSize">The smallest group it splits into (CUDA 13 drivers report it; null before).</param>
/// <param name="CoscheduledAlignment">The SM multiple a default split keeps (CUDA 13 drivers; null before).</param>
public sealed record SmResourceInfo(int SmCount, int? MinPartitionSize, int? CoscheduledAlignment);

/// <summary>
/// CUDA green contexts (driver API 12.4 and later): a device's SMs split into groups, and a context whose kernels
/// run only on one group. Bound by name from the driver like <see cref="CudaDriverApi"/>. The resource structure is
/// opaque here except for its SM fields, whose offsets are the same in the CUDA 12 and 13 headers (the type at 0,
/// 92 bytes of padding, the union at 96); buffers are oversized so a larger future layout is never overrun.
/// </summary>
public sealed unsafe class GreenContextApi
{
    /// <summary>The entry points green contexts need; a driver lacking any has none.</summary>
    public static readonly IReadOnlyList<string> Exports =
    [
        "cuDeviceGetDevResource", "cuDevSmResourceSplitByCount", "cuDevResourceGenerateDesc",
        "cuGreenCtxCreate", "cuGreenCtxDestroy", "cuCtxFromGreenCtx",
    ];

    /// <summary>Bytes held for one CUdevResource: 144 in the CUDA 12.4-13 headers, doubled for safety.</summary>
    private const int ResourceBytes = 288;

    private const int SmCountOffset = 96;

    /// <summary>CU_DEV_RESOURCE_TYPE_SM.</summary>
    private const int SmResourceType = 1;

    /// <summary>CU_GREEN_CTX_DEFAULT_STREAM: the context gets a null stream of its own (launches need one).</summary>
    private const uint DefaultStreamFlag = 1;

    private readonly CudaDriverApi driver;
    private readonly delegate* unmanaged<int*, int, int> deviceGet;
    private readonly delegate* unmanaged<int*, int> driverVersion;
    private readonly delegate* unmanaged<int, byte*, int, int> getDevResource;
    private readonly delegate* unmanaged<byte*, uint*, byte*, byte*, uint, uint, int> splitByCount;
    private readonly delegate* unmanaged<IntPtr*, byte*, uint, int> generateDesc;
    private readonly delegate* unmanaged<IntPtr*, IntPtr, int, uint, int> greenCreate;
    private readonly delegate* unmanaged<IntPtr, int> greenDestroy;
    private readonly delegate* unmanaged<IntPtr*, IntPtr, int> fromGreen;
    private readonly delegate* unmanaged<IntPtr, int> setCurrent;

    /// <summary>Binds the calls from <paramref name="driver"/>'s library; throws <see cref="EntryPointNotFoundException"/> naming what it lacks.</summary>
    public GreenContextApi(CudaDriverApi driver)
    {
        this.driver = driver;
        if (driver.MissingGreenContextExports.Count > 0)
        {
            throw new EntryPointNotFoundException(
                $"the CUDA driver {driver.Library} has no green contexts: it lacks {string.Join(", ", driver.MissingGreenContextExports)} (CUDA 12.4 or later)");
        }
        IntPtr Required(string name) => driver.Export(name) is var address && address != IntPtr.Zero
            ? address
            : throw new EntryPointNotFoundException($"the CUDA driver {driver.Library} lacks {name}");
        deviceGet = (delegate* unmanaged<int*, int, int>)Required("cuDeviceGet");
        driverVersion = (delegate* unmanaged<int*, int>)Required("cuDriverGetVersion");
        getDevResource = (delegate* unmanaged<int, byte*, int, int>)Required("cuDeviceGetDevResource");
        splitByCount = (delegate* unmanaged<byte*, uint*, byte*, byte*, uint, uint, int>)Required("cuDevSmResourceSplitByCount");
        generateDesc = (delegate* unmanaged<IntPtr*, byte*, uint, int>)Required("cuDevResourceGenerateDesc");
        greenCreate = (delegate* unmanaged<IntPtr*, IntPtr, int, uint, int>)Required("cuGreenCtxCreate");
        greenDestroy = (delegate* unmanaged<IntPtr, int>)Required("cuGreenCtxDestroy");
        fromGreen = (delegate* unmanaged<IntPtr*, IntPtr, int>)Required("cuCtxFromGreenCtx");
        setCurrent = (delegate* unmanaged<IntPtr, int>)Required("cuCtxSetCurrent");
    }

    /// <summary>cuCtxSetCurrent: makes <paramref name="context"/> (e.g. a green context's CUcontext) current on the calling thread.</summary>
    public void MakeCurrent(IntPtr context) => driver.Check(setCurrent(context), "cuCtxSetCurrent");

    /// <summary>The driver API version, e.g. 13000 for CUDA 13.0.</summary>
    public int DriverVersion
    {
        get
        {
            int version;
            driver.Check(driverVersion(&version), "cuDriverGetVersion");
            return version;
        }
    }

    /// <summary>The SMs of device <paramref name="ordinal"/>.</summary>
    public SmResourceInfo DeviceSms(int ordinal)
    {
        var resource = new byte[ResourceBytes];
        fixed (byte* r = resource)
        {
            driver.Check(getDevResource(Device(ordinal), r, SmResourceType), "cuDeviceGetDevResource");
        }
        return Describe(resource);
    }

    /// <summary>
    /// The SM granularity of device <paramref name="ordinal"/>: the smallest group a split can make. CUDA 13 drivers
    /// report it; otherwise it is the size of the group a split asking for the fewest SMs gets, trying 1, 2, 4 and 8
    /// (compute capability 9.x wants multiples of 8, and a driver may refuse a smaller count rather than round it).
    /// </summary>
    public int SplitGranularity(int ordinal)
    {
        var sms = DeviceSms(ordinal);
        if (Math.Max(sms.MinPartitionSize ?? 0, sms.CoscheduledAlignment ?? 0) is > 0 and var reported)
        {
            return reported;
        }
        InvalidOperationException? refused = null;
        foreach (var count in new[] { 1, 2, 4, 8 })
        {
            try
            {
                var (group, _) = Split(ordinal, count);
                return Describe(group).SmCount;
            }
            catch (InvalidOperationException e)
            {
                refused = e;
            }
        }
        throw refused!;
    }

    /// <summary><paramref name="smCount"/> rounded up to a multiple of the device's <see cref="SplitGranularity"/>, at most all its SMs.</summary>
    public int RoundToGranularity(int ordinal, int smCount)
    {
        var granularity = SplitGranularity(ordinal);
        return Math.Min(DeviceSms(ordinal).SmCount, (smCount + granularity - 1) / granularity * granularity);
    }

    /// <summary>
    /// Creates a green context on device <paramref name="ordinal"/> with one group of at least <paramref name="smCount"/>
    /// SMs (rounded up by the driver). Returns the green context, the CUcontext that stands for it, and its SMs.
    /// Destroy it with <see cref="Destroy"/>. Needs a context of the device current on the calling thread.
    /// </summary>
    public (IntPtr Green, IntPtr Context, int SmCount) Create(int ordinal, int smCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(smCount, 1);
        var (group, _) = Split(ordinal, RoundToGranularity(ordinal, smCount));
        IntPtr description;
        fixed (byte* g = group)
        {
            driver.Check(generateDesc(&description, g, 1), "cuDevResourceGenerateDesc");
        }
        IntPtr green;
        driver.Check(greenCreate(&green, description, Device(ordinal), DefaultStreamFlag), "cuGreenCtxCreate");
        IntPtr context;
        var converted = fromGreen(&context, green);
        if (converted != 0)
        {
            _ = greenDestroy(green);
            driver.Check(converted, "cuCtxFromGreenCtx");
        }
        return (green, context, Describe(group).SmCount);
    }

    /// <summary>cuGreenCtxDestroy.</summary>
    public void Destroy(IntPtr green) => driver.Check(greenDestroy(green), "cuGreenCtxDestroy");

    private (byte[] Group, byte[] Remaining) Split(int ordinal, int minCount)
    {
        var input = new byte[ResourceBytes];
        var group = new byte[ResourceBytes];
        var remaining = new byte[ResourceBytes];
        fixed (byte* i = input)
        fixed (byte* g = group)
        fixed (byte* r = remaining)
        {
            driver.Check(getDevResource(Device(ordinal), i, SmResourceType), "cuDeviceGetDevResource");
            var groups = 1u;
            driver.Check(splitByCount(g, &groups, i, r, 0, checked((uint)minCount)), "cuDevSmResourceSplitByCount");
            if (groups < 1)
            {
                throw new InvalidOperationException($"cuDevSmResourceSplitByCount made no group of {minCount} SMs");
            }
        }
        return (group, remaining);
    }

    private int Device(int ordinal)
    {
        int device;
        driver.Check(deviceGet(&device, ordinal), "cuDeviceGet");
        return device;
    }

    private SmResourceInfo Describe(byte[] resource)
    {
        var smCount = (int)BitConverter.ToUInt32(resource, SmCountOffset);
        // CUDA 13 added the partition size and alignment after smCount; older headers end the SM resource there, and
        // a driver that leaves them zero does not know them either.
        int? Field(int offset) => DriverVersion >= 13000 && BitConverter.ToUInt32(resource, offset) is > 0 and var value ? (int)value : null;
        return new SmResourceInfo(smCount, Field(SmCountOffset + 4), Field(SmCountOffset + 8));
    }
}
