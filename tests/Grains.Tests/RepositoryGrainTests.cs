using static OrleansServe.Grains.Tests.Tensors;

namespace OrleansServe.Grains.Tests;

public sealed class RepositoryGrainTests(SmallModelsCluster fixture) : IClassFixture<SmallModelsCluster>
{
    private IRepositoryGrain Repository => fixture.Grains.GetGrain<IRepositoryGrain>("default");

    [Fact]
    public async Task The_index_lists_every_model_with_its_state()
    {
        var index = await Repository.IndexAsync();

        Assert.Equal(["add", "add_fast", "add_loose_slo", "add_tight_slo", "add_tiny_queue", "broken", "fixed", "mlp", "reloaded", "typed", "unrunnable", "versioned"], index.Select(s => s.Name).Order().ToArray());
        Assert.Equal(ModelState.Unavailable, index.Single(s => s.Name == "broken").State);
        Assert.Equal(ModelState.Unavailable, index.Single(s => s.Name == "unrunnable").State);
        Assert.All(index.Where(s => s.Name is not "broken" and not "unrunnable"), s => Assert.Equal(ModelState.Ready, s.State));
    }

    [Fact]
    public async Task An_unloaded_model_refuses_requests_until_it_is_loaded_again()
    {
        var model = fixture.Grains.GetGrain<IModelGrain>("mlp");
        var unloaded = await Repository.UnloadAsync("mlp");
        Assert.Equal(ModelState.Unloaded, unloaded.State);

        var error = await Assert.ThrowsAsync<InferenceException>(() => model.InferAsync(Request(Fp32("input", [1, 784], new float[784]))));
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);

        var loaded = await Repository.LoadAsync("mlp");
        Assert.Equal(ModelState.Ready, loaded.State);
        var response = await model.InferAsync(Request(Fp32("input", [1, 784], new float[784])));
        Assert.Equal(10, ReadFp32(response.Outputs[0]).Length);
    }

    [Fact]
    public async Task Loading_a_model_that_is_not_in_the_repository_is_not_found()
    {
        var error = await Assert.ThrowsAsync<InferenceException>(() => Repository.LoadAsync("../escape"));
        Assert.Equal(InferenceErrorKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task Devices_register_with_the_scheduler_and_the_plan_places_ready_models()
    {
        var scheduler = fixture.Grains.GetGrain<ISchedulerGrain>("default");
        var device = Assert.Single(await scheduler.GetDevicesAsync());
        Assert.Equal("cpu", device.Kind);

        var plan = await scheduler.GetPlanAsync();
        var assignment = Assert.Single(plan.Assignments);
        Assert.Contains("add_fast", assignment.Models);
        Assert.DoesNotContain("broken", assignment.Models);
        Assert.DoesNotContain("unrunnable", assignment.Models);
    }
}
