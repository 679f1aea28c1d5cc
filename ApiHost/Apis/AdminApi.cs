using OrleansServe.Grains;
using OrleansServe.Grains.Scheduling;

namespace OrleansServe.ApiHost.Apis;

/// <summary>Operator views: the scheduler's plan and each device's residency.</summary>
public static class AdminApi
{
    /// <summary>Maps GET /v2/admin/plan and /v2/admin/devices.</summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v2/admin/plan", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).GetPlanAsync()));
        routes.MapGet("/v2/admin/devices", DevicesAsync);
        return routes;
    }

    private static async Task<IResult> DevicesAsync(IGrainFactory grains)
    {
        var devices = await grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).GetDevicesAsync();
        var statuses = await Task.WhenAll(devices.Select(d => grains.GetGrain<IGpuGrain>(d.Key).GetStatusAsync()));
        return TypedResults.Ok(statuses);
    }
}
