using OrleansServe.Grains;
using OrleansServe.Grains.Scheduling;

namespace OrleansServe.ApiHost.Apis;

/// <summary>Operator views: the scheduler's placement and schedule, and each device's residency.</summary>
public static class AdminApi
{
    /// <summary>Maps GET /v2/admin/plan, /v2/admin/devices and /v2/admin/schedule, and POST /v2/admin/schedule/replan.</summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v2/admin/plan", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).GetPlanAsync()));
        routes.MapGet("/v2/admin/devices", DevicesAsync);
        // The planner's schedule is JSON already (a plan is data); it is passed through as it is.
        routes.MapGet("/v2/admin/schedule", async (IGrainFactory grains) =>
            TypedResults.Text(await grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).GetScheduleAsync(), "application/json"));
        routes.MapPost("/v2/admin/schedule/replan", async (IGrainFactory grains) =>
            TypedResults.Text(await grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).ReplanAsync(), "application/json"));
        return routes;
    }

    private static async Task<IResult> DevicesAsync(IGrainFactory grains)
    {
        var devices = await grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key).GetDevicesAsync();
        var statuses = await Task.WhenAll(devices.Select(d => grains.GetGrain<IGpuGrain>(d.Key).GetStatusAsync()));
        return TypedResults.Ok(statuses);
    }
}
