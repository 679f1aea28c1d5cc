using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static OrleansServe.Grains.Tests.Tensors;

namespace OrleansServe.Grains.Tests;

public sealed class ClientSdkTests(SmallModelsCluster fixture) : IClassFixture<SmallModelsCluster>
{
    [Fact]
    public async Task A_separate_host_with_the_orleans_client_calls_model_grains_directly()
    {
        var gateway = fixture.Cluster.Primary!.GatewayAddress!.Endpoint;
        using var host = Host.CreateDefaultBuilder()
            .UseOrleansClient(client => client
                .UseStaticClustering(gateway)
                .Configure<Orleans.Configuration.ClusterOptions>(options =>
                {
                    options.ClusterId = fixture.Cluster.Options.ClusterId;
                    options.ServiceId = fixture.Cluster.Options.ServiceId;
                }))
            .Build();
        await host.StartAsync();

        var client = host.Services.GetRequiredService<IClusterClient>();
        var response = await client.GetGrain<IModelGrain>("add_fast").InferAsync(Request(Fp32("x", [1, 3], 10, 20, 30)));

        Assert.Equal([12f, 22f, 32f], ReadFp32(response.Outputs[0]));
        var error = await Assert.ThrowsAsync<InferenceException>(() => client.GetGrain<IModelGrain>("add_fast").InferAsync(Request(Fp32("x", [1, 2], 1, 2))));
        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        await host.StopAsync();
    }
}
