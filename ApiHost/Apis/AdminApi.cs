using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace OrleansServe.ApiHost.Apis;

/// <summary>
/// Operator views and controls: the scheduler's placement and schedule, each device's gpulets and residency, and
/// the split of a device into gpulets.
/// </summary>
public static class AdminApi
{
    /// <summary>
    /// Maps GET /v2/admin/plan, /v2/admin/devices[/{key}], /v2/admin/schedule and /v2/admin/profiles, POST
    /// /v2/admin/schedule/replan and /v2/admin/devices/{key}/partitions, and PUT /v2/admin/profiles. A device is named by its full key
    /// (URL-encoded, as /v2/admin/devices lists it) or by its local id ("cpu0") when one device of the cluster has it.
    /// </summary>
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("").RequireAccess(ApiAccess.Management).ProducesErrors();
        group.MapGet("/v2/admin/plan", async (IGrainFactory grains) => TypedResults.Ok(await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).GetPlanAsync()));
        group.MapGet("/v2/admin/devices", DevicesAsync);
        group.MapGet("/v2/admin/devices/{key}", DeviceAsync);
        group.MapPost("/v2/admin/devices/{key}/partitions", RepartitionAsync);
        // The planner's schedule is JSON already (a plan is data); it is passed through as it is.
        group.MapGet("/v2/admin/schedule", async (IGrainFactory grains) =>
            TypedResults.Text(await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).GetScheduleAsync(), "application/json"));
        group.MapPost("/v2/admin/schedule/replan", async (IGrainFactory grains) =>
            TypedResults.Text(await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).ReplanAsync(), "application/json"));
        group.MapGet("/v2/admin/profiles", async (IGrainFactory grains) =>
            TypedResults.Text(await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).ExportProfilesAsync(), "text/csv"));
        group.MapPut("/v2/admin/profiles", ImportProfilesAsync);
        group.MapGet("/v2/admin/interference", async (IGrainFactory grains) =>
            await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).GetInterferenceAsync() is { } settings
                ? Results.Ok(InterferenceBody.From(settings))
                : Results.Ok(new { coefficients = (object?)null }));
        group.MapPut("/v2/admin/interference", ImportInterferenceAsync);
        return routes;
    }

    private static async Task<Ok<DeviceStatus[]>> DevicesAsync(IGrainFactory grains)
    {
        var devices = await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).GetDevicesAsync();
        var statuses = await Task.WhenAll(devices.Select(d => grains.GetGrain<IGpuGrain>(d.Key).GetStatusAsync()));
        return TypedResults.Ok(statuses);
    }

    private static async Task<Ok<DeviceStatus>> DeviceAsync(string key, IGrainFactory grains) =>
        TypedResults.Ok(await (await DeviceGrainAsync(key, grains)).GetStatusAsync());

    /// <summary>Splits a device into the gpulets of the body; answers with the device's status once the old gpulets have drained.</summary>
    private static async Task<Ok<DeviceStatus>> RepartitionAsync(string key, HttpRequest request, IGrainFactory grains, IOptions<JsonOptions> json)
    {
        var device = await DeviceGrainAsync(key, grains);
        RepartitionRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<RepartitionRequest>(request.Body, json.Value.SerializerOptions, request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"the body is not a partitions request ({e.Message}); expected {RepartitionRequest.Example}");
        }
        if (body?.Partitions is not { Length: > 0 } partitions || partitions.Any(p => p is null))
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"the body names no gpulets; expected {RepartitionRequest.Example}");
        }
        var plans = partitions.Select(p => new GpuletPlan(p.SmPercent, p.Models ?? [], p.MemoryBytes)).ToArray();
        return TypedResults.Ok(await device.RepartitionAsync(plans));
    }

    /// <summary>Replaces the imported profile table with the CSV body; answers with its row count.</summary>
    private static async Task<Ok<ProfileImportResponse>> ImportProfilesAsync(HttpRequest request, IGrainFactory grains)
    {
        using var reader = new StreamReader(request.Body);
        var csv = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        var rows = await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).ImportProfilesAsync(csv);
        return TypedResults.Ok(new ProfileImportResponse(rows));
    }

    /// <summary>Replaces the interference coefficients with the body's; answers with what the scheduler now holds.</summary>
    private static async Task<Ok<InterferenceBody>> ImportInterferenceAsync(HttpRequest request, IGrainFactory grains, IOptions<JsonOptions> json)
    {
        InterferenceBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<InterferenceBody>(request.Body, json.Value.SerializerOptions, request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"the body is not interference coefficients ({e.Message}); expected {InterferenceBody.Example}");
        }
        if (body is not { MemSelf: { } memSelf, MemOther: { } memOther, CompSelf: { } compSelf, CompOther: { } compOther, Constant: { } constant })
        {
            throw new ApiException(StatusCodes.Status400BadRequest, $"the body lacks a coefficient; expected {InterferenceBody.Example}");
        }
        var settings = new InterferenceSettings(memSelf, memOther, compSelf, compOther, constant, body.Device ?? InterferenceBody.DefaultDevice);
        var scheduler = grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler);
        await scheduler.ImportInterferenceAsync(settings);
        return TypedResults.Ok(InterferenceBody.From((await scheduler.GetInterferenceAsync())!));
    }

    /// <summary>The grain of a registered device named by its full key or, when unambiguous, its local id.</summary>
    private static async Task<IGpuGrain> DeviceGrainAsync(string key, IGrainFactory grains)
    {
        var name = Uri.UnescapeDataString(key);
        var devices = await grains.GetGrain<ISchedulerGrain>(GrainKeys.Scheduler).GetDevicesAsync();
        var matches = devices.Any(d => d.Key == name)
            ? [name]
            : devices.Select(d => d.Key).Where(k => k.EndsWith("/" + name, StringComparison.Ordinal)).ToArray();
        return matches.Length switch
        {
            1 => grains.GetGrain<IGpuGrain>(matches[0]),
            0 => throw new ApiException(StatusCodes.Status404NotFound, $"no device '{name}' is registered"),
            _ => throw new ApiException(StatusCodes.Status400BadRequest, $"'{name}' names {matches.Length} devices; use a full key: {string.Join(", ", matches)}"),
        };
    }
}
