using static OrleansServe.Grains.Tests.Tensors;

namespace OrleansServe.Grains.Tests;

public sealed class ModelGrainTests(SmallModelsCluster fixture) : IClassFixture<SmallModelsCluster>
{
    private IModelGrain Model(string name) => fixture.Grains.GetGrain<IModelGrain>(name);

    [Fact]
    public async Task Infers_known_outputs_and_echoes_the_request_id()
    {
        var response = await Model("add_fast").InferAsync(Request(Fp32("x", [2, 3], 1, 2, 3, 4, 5, 6)));

        Assert.Equal("add_fast", response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal("req", response.Id);
        var y = Assert.Single(response.Outputs);
        Assert.Equal("y", y.Name);
        Assert.Equal([2L, 3L], y.Shape);
        Assert.Equal([3f, 4f, 5f, 6f, 7f, 8f], ReadFp32(y));
    }

    [Fact]
    public async Task A_reload_under_traffic_serves_the_new_version_for_every_request_after_it()
    {
        var model = Model("reloaded");
        using var stop = new CancellationTokenSource();
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answers = new System.Collections.Concurrent.ConcurrentBag<(string Version, float First)>();
        var senders = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var response = await model.InferAsync(Request(Fp32("x", [1, 3], 1, 2, 3)));
                answers.Add((response.ModelVersion, ReadFp32(response.Outputs[0])[0]));
                if (answers.Count >= 50)
                {
                    answered.TrySetResult();
                }
            }
        })).ToList();
        await answered.Task;

        fixture.AddModel("reloaded", Zoo.TestModels.AddConstant(20f), """{"max_batch_size": 4}""", version: "2");
        var status = await model.LoadAsync();
        Assert.Equal("2", status.Version);
        var afterReload = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => model.InferAsync(Request(Fp32("x", [1, 3], 1, 2, 3)))));
        await stop.CancelAsync();
        await Task.WhenAll(senders);

        // Each answer's values are its reported version's, during the reload and after it.
        Assert.All(answers, a => Assert.Equal(a.Version == "1" ? 11f : 21f, a.First));
        Assert.All(afterReload, r =>
        {
            Assert.Equal("2", r.ModelVersion);
            Assert.Equal([21f, 22f, 23f], ReadFp32(r.Outputs[0]));
        });
    }

    [Fact]
    public async Task Concurrent_requests_leave_as_full_batches_and_each_gets_its_own_rows()
    {
        var requests = Enumerable.Range(0, 16)
            .Select(i => Model("add").InferAsync(Request(Fp32("x", [1, 3], i, i * 10, i * 100))))
            .ToList();
        var responses = await Task.WhenAll(requests);

        for (var i = 0; i < 16; i++)
        {
            Assert.Equal([i + 1.5f, i * 10 + 1.5f, i * 100 + 1.5f], ReadFp32(responses[i].Outputs[0]));
            Assert.Equal([1L, 3L], responses[i].Outputs[0].Shape);
        }
        var statistics = await Model("add").GetStatisticsAsync();
        Assert.Equal(16, statistics.InferenceCount);
        Assert.Equal(2, statistics.ExecutionCount);
        var batch = Assert.Single(statistics.BatchStats);
        Assert.Equal(8, batch.BatchSize);
        Assert.Equal(2, batch.ComputeInfer.Count);
        Assert.Equal(16, statistics.Success.Count);
    }

    [Fact]
    public async Task Every_datatype_passes_through_unchanged()
    {
        var inputs = new[]
        {
            new Tensor("fp32", ElementType.Fp32, [1, 4], new byte[16].Select((_, i) => (byte)i).ToArray()),
            new Tensor("fp16", ElementType.Fp16, [1, 4], [0, 60, 0, 64, 0, 66, 0, 188]),
            new Tensor("int64", ElementType.Int64, [1, 4], new byte[32].Select((_, i) => (byte)(i * 3)).ToArray()),
            new Tensor("int32", ElementType.Int32, [1, 4], new byte[16].Select((_, i) => (byte)(255 - i)).ToArray()),
            new Tensor("int8", ElementType.Int8, [1, 4], [1, 255, 127, 128]),
            new Tensor("uint8", ElementType.UInt8, [1, 4], [0, 1, 254, 255]),
            new Tensor("bool", ElementType.Bool, [1, 4], [1, 0, 0, 1]),
        };

        var response = await Model("typed").InferAsync(Request(inputs));

        foreach (var input in inputs)
        {
            var output = response.Outputs.Single(o => o.Name == input.Name + "_out");
            Assert.Equal(input.ElementType, output.ElementType);
            Assert.Equal(input.Data, output.Data);
        }
    }

    [Theory]
    [InlineData("unknown input", "nope", "FP32", new long[] { 1, 3 }, 3, "no input 'nope'")]
    [InlineData("wrong datatype", "x", "INT32", new long[] { 1, 3 }, 3, "must be FP32")]
    [InlineData("wrong rank", "x", "FP32", new long[] { 3 }, 3, "must have shape")]
    [InlineData("wrong dim", "x", "FP32", new long[] { 1, 4 }, 4, "must have shape")]
    [InlineData("too few bytes", "x", "FP32", new long[] { 1, 3 }, 2, "needs 12 bytes")]
    [InlineData("batch too large", "x", "FP32", new long[] { 5, 3 }, 15, "max_batch_size 4")]
    [InlineData("zero batch", "x", "FP32", new long[] { 0, 3 }, 0, "must have shape")]
    public async Task Refuses_requests_that_do_not_fit_the_model_and_keeps_serving(string why, string name, string datatype, long[] shape, int floats, string expected)
    {
        Assert.True(ElementTypes.TryParseKServeName(datatype, out var type));
        var bad = new Tensor(name, type, shape, new byte[floats * 4]);
        var error = await Assert.ThrowsAsync<InferenceException>(() => Model("add_fast").InferAsync(Request(bad)));

        Assert.True(error.Kind == InferenceErrorKind.BadRequest, why);
        Assert.Contains(expected, error.Message);
        var ok = await Model("add_fast").InferAsync(Request(Fp32("x", [1, 3], 0, 0, 0)));
        Assert.Equal([2f, 2f, 2f], ReadFp32(ok.Outputs[0]));
    }

    [Fact]
    public async Task Refuses_missing_inputs_duplicates_and_unknown_outputs()
    {
        var x = Fp32("x", [1, 3], 1, 2, 3);
        var duplicate = await Assert.ThrowsAsync<InferenceException>(() => Model("add_fast").InferAsync(Request(x, x)));
        Assert.Contains("twice", duplicate.Message);
        var none = await Assert.ThrowsAsync<InferenceException>(() => Model("add_fast").InferAsync(Request()));
        Assert.Contains("none", none.Message);
        var output = await Assert.ThrowsAsync<InferenceException>(() => Model("add_fast").InferAsync(new InferenceRequest(null, [x], ["z"])));
        Assert.Contains("no output 'z'", output.Message);
        var version = await Assert.ThrowsAsync<InferenceException>(() => Model("add_fast").InferAsync(new InferenceRequest(null, [x], null, "7")));
        Assert.Equal(InferenceErrorKind.NotFound, version.Kind);
    }

    [Fact]
    public async Task A_full_queue_refuses_at_once_with_overloaded()
    {
        var model = Model("add_tiny_queue");
        // max_queue_size 2 and a minute's max_queue_delay_ms: of five requests two wait, three are refused at once.
        var pending = Enumerable.Range(0, 5).Select(i => model.InferAsync(Request(Fp32("x", [1, 3], i, i, i)))).ToList();
        for (var refused = 0; refused < 3; refused++)
        {
            var done = await Task.WhenAny(pending);
            pending.Remove(done);
            var error = await Assert.ThrowsAsync<InferenceException>(() => done);
            Assert.Equal(InferenceErrorKind.Overloaded, error.Kind);
        }

        await fixture.Grains.GetGrain<IRepositoryGrain>("default").UnloadAsync("add_tiny_queue");
        foreach (var request in pending)
        {
            var dropped = await Assert.ThrowsAsync<InferenceException>(() => request);
            Assert.Equal(InferenceErrorKind.Unavailable, dropped.Kind);
        }
        await fixture.Grains.GetGrain<IRepositoryGrain>("default").LoadAsync("add_tiny_queue");
    }

    [Fact]
    public async Task A_model_without_a_dynamic_batch_runs_each_request_alone()
    {
        var response = await Model("fixed").InferAsync(Request(Fp32("x", [2, 3], -1, 2, -3, 4, -5, 6)));
        Assert.Equal([0f, 2f, 0f, 4f, 0f, 6f], ReadFp32(response.Outputs[0]));
        var metadata = await Model("fixed").GetMetadataAsync();
        Assert.Equal(1, metadata.Config.MaxBatchSize);
    }

    [Fact]
    public async Task Metadata_comes_from_the_onnx_graph_and_the_config()
    {
        var metadata = await Model("mlp").GetMetadataAsync();
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal(ElementType.Fp32, input.ElementType);
        Assert.Equal(-1, input.Shape[0]);
        Assert.Equal(8, metadata.Config.MaxBatchSize);
        Assert.Equal(["1"], metadata.Versions);
    }

    [Fact]
    public async Task A_corrupt_model_file_is_refused_with_a_reason_and_others_keep_serving()
    {
        var status = await Model("broken").GetStatusAsync();
        Assert.Equal(ModelState.Unavailable, status.State);
        Assert.False(string.IsNullOrEmpty(status.Reason));
        var error = await Assert.ThrowsAsync<InferenceException>(() => Model("broken").InferAsync(Request(Fp32("x", [1, 3], 1, 2, 3))));
        Assert.Equal(InferenceErrorKind.Unavailable, error.Kind);

        var ok = await Model("add_fast").InferAsync(Request(Fp32("x", [1, 3], 1, 1, 1)));
        Assert.Equal([3f, 3f, 3f], ReadFp32(ok.Outputs[0]));
    }

    [Fact]
    public async Task A_model_onnx_runtime_cannot_build_is_unavailable_and_says_why()
    {
        var status = await Model("unrunnable").GetStatusAsync();
        Assert.Equal(ModelState.Unavailable, status.State);
        Assert.Contains("NoSuchOperator", status.Reason);
    }

    [Fact]
    public async Task Only_the_newest_version_is_served_and_reported()
    {
        var metadata = await Model("versioned").GetMetadataAsync();
        Assert.Equal(["2"], metadata.Versions);
        var response = await Model("versioned").InferAsync(Request(Fp32("x", [1, 3], 0, 0, 0)));
        Assert.Equal("2", response.ModelVersion);
        Assert.Equal([2f, 2f, 2f], ReadFp32(response.Outputs[0]));
        var old = await Assert.ThrowsAsync<InferenceException>(() => Model("versioned").InferAsync(new InferenceRequest(null, [Fp32("x", [1, 3], 0, 0, 0)], null, "1")));
        Assert.Equal(InferenceErrorKind.NotFound, old.Kind);
    }

    [Fact]
    public async Task An_unknown_model_is_not_found()
    {
        var error = await Assert.ThrowsAsync<InferenceException>(() => Model("no_such_model").InferAsync(Request(Fp32("x", [1, 3], 1, 2, 3))));
        Assert.Equal(InferenceErrorKind.NotFound, error.Kind);
    }
}
