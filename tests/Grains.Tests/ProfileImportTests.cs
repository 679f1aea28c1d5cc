using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Grains.Tests;

public sealed class ProfileImportTests(SmallModelsCluster fixture) : IClassFixture<SmallModelsCluster>
{
    private const string Profile = """
        model,partition,batch,latency_ms,device,source
        elsewhere,50,1,4,cpu-2c,measured
        elsewhere,50,4,9,cpu-2c,measured
        elsewhere,100,1,2.5,cpu-2c,measured
        """;

    private ISchedulerGrain Scheduler => fixture.Grains.GetGrain<ISchedulerGrain>(SchedulerGrain.Key);

    [Fact]
    public async Task An_imported_profile_table_is_exported_with_the_planners_rows()
    {
        var rows = await Scheduler.ImportProfilesAsync(Profile);

        var exported = ProfileTable.FromCsv(await Scheduler.ExportProfilesAsync());
        Assert.Equal(3, rows);
        Assert.Equal(4, exported.LatencyMs("device", "elsewhere", 50, 1));
        Assert.Equal(2.5, exported.LatencyMs("device", "elsewhere", 100, 1));
        Assert.All(exported.Rows.Where(r => r.Model == "elsewhere"), r => Assert.Equal(ProfileSource.Measured, r.Source));
    }

    [Fact]
    public async Task An_invalid_table_is_refused_naming_its_bad_lines_and_the_imported_one_stays()
    {
        await Scheduler.ImportProfilesAsync(Profile);

        var error = await Assert.ThrowsAsync<InferenceException>(() => Scheduler.ImportProfilesAsync("model,partition,batch,latency_ms\nx,50,1,fast\ny,0,1,2\n"));

        Assert.Equal(InferenceErrorKind.BadRequest, error.Kind);
        Assert.Contains("2 invalid line(s)", error.Message);
        Assert.Contains("elsewhere", await Scheduler.ExportProfilesAsync());
    }
}
