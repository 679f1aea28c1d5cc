using System.Text.Json;
using static OrleansServe.Grains.Tests.Tensors;

namespace OrleansServe.Grains.Tests;

public sealed class SchedulerGrainTests(SmallModelsCluster fixture) : IClassFixture<SmallModelsCluster>
{
    private ISchedulerGrain Scheduler => fixture.Grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);

    [Fact]
    public async Task Imported_interference_coefficients_are_kept_and_the_plan_uses_them_for_models_with_a_graph_cost()
    {
        Assert.Null(await Scheduler.GetInterferenceAsync());
        var settings = new InterferenceSettings(0.4, 0.9, 0.2, 0.5, 1.0, "h100-sxm");
        await Scheduler.ImportInterferenceAsync(settings);
        Assert.Equal(settings, await Scheduler.GetInterferenceAsync());

        var mlp = fixture.Grains.GetGrain<IModelGrain>("mlp");
        var cost = await mlp.GetCostAsync();
        Assert.NotNull(cost);
        Assert.True(cost.FlopsPerItem > 0 && cost.WeightBytes > 0);
        Assert.Null(await fixture.Grains.GetGrain<IModelGrain>("unrunnable").GetCostAsync());

        await Scheduler.ReplanAsync();
        for (var i = 0; i < 5; i++)
        {
            await mlp.InferAsync(Request(Fp32("input", [1, 784], new float[784])));
            await fixture.Grains.GetGrain<IModelGrain>("add_fast").InferAsync(Request(Fp32("x", [1, 3], i, i, i)));
        }
        using var schedule = JsonDocument.Parse(await Scheduler.ReplanAsync());

        var used = schedule.RootElement.GetProperty("interference");
        Assert.Equal("h100-sxm", used.GetProperty("device").GetString());
        Assert.Equal(0.9, used.GetProperty("coefficients").GetProperty("mem_other").GetDouble());
        var featured = used.GetProperty("models_with_features").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.Contains("mlp", featured);
        Assert.Contains("add_fast", featured);

        // Refused settings change nothing.
        foreach (var bad in new[] { settings with { Constant = double.NaN }, settings with { Device = "tpu" } })
        {
            var error = await Assert.ThrowsAsync<InferenceException>(() => Scheduler.ImportInterferenceAsync(bad));
            Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        }
        Assert.Equal(settings, await Scheduler.GetInterferenceAsync());
    }

    [Fact]
    public async Task Replan_plans_models_with_requests_from_their_rates_and_measured_latencies()
    {
        await Scheduler.ReplanAsync();
        for (var i = 0; i < 5; i++)
        {
            await fixture.Grains.GetGrain<IModelGrain>("add_fast").InferAsync(Request(Fp32("x", [1, 3], i, i, i)));
        }

        using var schedule = JsonDocument.Parse(await Scheduler.ReplanAsync());

        var root = schedule.RootElement;
        Assert.Equal("orleansserve", root.GetProperty("policy").GetString());
        Assert.True(root.GetProperty("rates_rps").GetProperty("add_fast").GetDouble() > 0);
        var plan = root.GetProperty("plan");
        var planned = plan.GetProperty("gpus").EnumerateArray()
            .SelectMany(g => g.GetProperty("gpulets").EnumerateArray())
            .SelectMany(g => g.GetProperty("models").EnumerateArray())
            .Select(m => m.GetProperty("model").GetString())
            .Concat(plan.GetProperty("swap_served").EnumerateArray().Select(m => m.GetString()));
        Assert.Contains("add_fast", planned);
        // A model nobody asked for gets no demand, and says why.
        Assert.True(root.GetProperty("not_planned").TryGetProperty("typed", out var reason));
        Assert.False(string.IsNullOrEmpty(reason.GetString()));
    }

    [Fact]
    public async Task Without_apply_plan_a_replan_leaves_the_devices_as_they_are()
    {
        var device = fixture.Grains.GetGrain<IGpuGrain>((await Scheduler.GetDevicesAsync()).Single().Key);
        var before = await device.GetStatusAsync();
        await Scheduler.ReplanAsync();
        for (var i = 0; i < 5; i++)
        {
            await fixture.Grains.GetGrain<IModelGrain>("add_fast").InferAsync(Request(Fp32("x", [1, 3], i, i, i)));
        }

        using var schedule = JsonDocument.Parse(await Scheduler.ReplanAsync());

        Assert.False(schedule.RootElement.GetProperty("apply_plan").GetBoolean());
        Assert.Equal(JsonValueKind.Null, schedule.RootElement.GetProperty("applied").ValueKind);
        var after = await device.GetStatusAsync();
        Assert.Equal(before.Gpulets.Select(g => (g.SmPercent, string.Join(",", g.Models))), after.Gpulets.Select(g => (g.SmPercent, string.Join(",", g.Models))));
    }

    [Fact]
    public async Task The_latest_schedule_is_kept_and_each_replan_has_a_new_version()
    {
        using var first = JsonDocument.Parse(await Scheduler.ReplanAsync());
        using var latest = JsonDocument.Parse(await Scheduler.GetScheduleAsync());

        Assert.Equal(first.RootElement.GetProperty("version").GetInt64(), latest.RootElement.GetProperty("version").GetInt64());
        using var next = JsonDocument.Parse(await Scheduler.ReplanAsync());
        Assert.True(next.RootElement.GetProperty("version").GetInt64() > first.RootElement.GetProperty("version").GetInt64());
    }
}
