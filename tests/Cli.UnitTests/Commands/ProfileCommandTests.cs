using OrleansServe.Scheduler.Profiles;

namespace OrleansServe.Cli.UnitTests.Commands;

public sealed class ProfileCommandTests
{
    [Theory]
    [InlineData("--partitions", "0,100")]
    [InlineData("--partitions", "150")]
    [InlineData("--partitions", "fifty")]
    [InlineData("--batches", "1,-2")]
    [InlineData("--batches", "")]
    [InlineData("--models", "no_such_model")]
    [InlineData("--repeats", "0")]
    [InlineData("--cores", "0")]
    [InlineData("--device", "cuda")]
    public void Profile_refuses_an_invalid_argument_with_a_nonzero_exit_code(string option, string value)
    {
        var csv = Path.Combine(Path.GetTempPath(), $"profile-invalid-{Guid.NewGuid():N}.csv");

        var code = ProfileCommand.Create(TextWriter.Null).Parse(["--models", "tabular_mlp", "--batches", "1", "--repeats", "1", option, value, "--csv", csv]).Invoke();

        Assert.NotEqual(0, code);
        Assert.False(File.Exists(csv));
    }

    [Fact]
    public void Profile_requires_an_output_file()
    {
        Assert.NotEqual(0, ProfileCommand.Create(TextWriter.Null).Parse(["--models", "tabular_mlp"]).Invoke());
    }

    [Fact]
    public void Profile_writes_a_measured_profile_table_that_reads_back_with_every_share_and_batch()
    {
        var csv = Path.Combine(Path.GetTempPath(), $"profile-{Guid.NewGuid():N}.csv");
        try
        {
            var code = ProfileCommand.Create(TextWriter.Null).Parse(
                ["--device", "cpu", "--models", "tabular_mlp,mlp", "--partitions", "50,100", "--batches", "1,2", "--repeats", "2", "--cores", "2", "--csv", csv]).Invoke();

            Assert.Equal(0, code);
            var table = ProfileTable.FromCsv(File.ReadAllText(csv));
            Assert.Equal(["cpu-2c"], table.Devices);
            Assert.Equal(["mlp", "tabular_mlp"], table.Models.Order());
            Assert.Equal(8, table.Rows.Count);
            Assert.All(table.Rows, r => Assert.Equal(ProfileSource.Measured, r.Source));
            Assert.All(table.Rows, r => Assert.True(r.LatencyMs > 0));
            foreach (var model in table.Models)
            {
                Assert.Equal([50, 100], table.PartitionsOf(model, "cpu-2c"));
                Assert.Equal([1, 2], table.BatchesOf(model, 50, "cpu-2c"));
            }
        }
        finally
        {
            File.Delete(csv);
        }
    }
}
