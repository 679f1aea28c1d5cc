using static OrleansServe.Grains.Tests.Tensors;

namespace OrleansServe.Grains.Tests;

public sealed class AdmissionTests(SmallModelsCluster fixture) : IClassFixture<SmallModelsCluster>
{
    private IModelGrain Model(string name) => fixture.Grains.GetGrain<IModelGrain>(name);

    private static Task<InferenceResponse>[] Send(IModelGrain model, int count) =>
        [.. Enumerable.Range(0, count).Select(i => model.InferAsync(Request(Fp32("x", [1, 3], i, i, i))))];

    [Fact]
    public async Task A_request_that_cannot_meet_its_slo_behind_the_queue_is_refused_at_once_with_the_reason()
    {
        var model = Model("add_tight_slo");
        // A full batch leaves at once; before any batch is measured admission has nothing to predict from.
        await Task.WhenAll(Send(model, 8));
        var failedBefore = (await model.GetStatisticsAsync()).Fail.Count;

        // max_queue_delay_ms holds the first of two for a minute; the other finds it queued ahead and is refused.
        var pair = Send(model, 2);
        var refused = await Task.WhenAny(pair);
        var error = await Assert.ThrowsAsync<InferenceException>(() => refused);

        Assert.Equal(InferenceErrorKind.Overloaded, error.Kind);
        Assert.Contains("0.001 ms SLO", error.Message);
        Assert.Contains("1 request(s) queued ahead", error.Message);
        Assert.Equal(failedBefore + 1, (await model.GetStatisticsAsync()).Fail.Count);
        var held = pair.Single(p => p != refused);
        Assert.False(held.IsCompleted);

        await fixture.Grains.GetGrain<IRepositoryGrain>("default").UnloadAsync("add_tight_slo");
        var dropped = await Assert.ThrowsAsync<InferenceException>(() => held);
        Assert.Equal(InferenceErrorKind.Unavailable, dropped.Kind);
        await fixture.Grains.GetGrain<IRepositoryGrain>("default").LoadAsync("add_tight_slo");
    }

    [Fact]
    public async Task A_model_whose_slo_the_queue_can_meet_answers_every_request_under_the_same_load()
    {
        var model = Model("add_loose_slo");
        await Task.WhenAll(Send(model, 8));
        var before = await model.GetStatisticsAsync();

        // Eight at once, as above: seven of them find requests queued ahead, all within a generous SLO.
        var responses = await Task.WhenAll(Send(model, 8));

        for (var i = 0; i < responses.Length; i++)
        {
            Assert.Equal([i + 5f, i + 5f, i + 5f], ReadFp32(responses[i].Outputs[0]));
        }
        var statistics = await model.GetStatisticsAsync();
        Assert.Equal(before.Success.Count + 8, statistics.Success.Count);
        Assert.Equal(before.Fail.Count, statistics.Fail.Count);
    }

    [Fact]
    public async Task Time_a_request_spent_before_reaching_the_model_counts_against_its_slo()
    {
        var model = Model("add_loose_slo");
        await Task.WhenAll(Send(model, 8));

        // Two requests that already spent more than the model's 1,000 s SLO in a front end: the first waits for
        // company (max_queue_delay_ms) as it would have anyway, since nothing is ahead; the other finds it queued
        // ahead and is refused, where a fresh request is admitted.
        var pair = new[] { 1, 2 }.Select(i => model.InferAsync(Request(Fp32("x", [1, 3], i, i, i)) with { WaitedMs = 2_000_000 })).ToArray();
        var refused = await Task.WhenAny(pair);
        var late = await Assert.ThrowsAsync<InferenceException>(() => refused);

        Assert.Equal(InferenceErrorKind.Overloaded, late.Kind);
        Assert.Contains("2000000 ms spent before reaching the model", late.Message);
        var held = pair.Single(p => p != refused);
        Assert.False(held.IsCompleted);
        // Fresh requests are admitted behind it and fill its batch.
        var responses = await Task.WhenAll([held, .. Send(model, 7)]);
        Assert.Equal(8, responses.Length);
    }
}
