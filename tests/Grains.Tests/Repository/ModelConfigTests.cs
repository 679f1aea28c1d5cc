using System.Text;

namespace OrleansServe.Grains.Tests.Repository;

public sealed class ModelConfigTests
{
    private static ModelConfig Parse(string json) => ModelConfig.Parse(Encoding.UTF8.GetBytes(json), "m");

    [Fact]
    public void Missing_fields_take_the_documented_defaults()
    {
        var config = Parse("{}");
        Assert.Equal(100, config.SloMs);
        Assert.Equal(8, config.MaxBatchSize);
        Assert.Equal(1, config.Priority);
        Assert.Equal(0, config.MaxQueueDelayMs);
        Assert.Equal(1024, config.MaxQueueSize);
        Assert.Empty(config.DimOverrides);
    }

    [Fact]
    public void Reads_every_field()
    {
        var config = Parse("""{"slo_ms": 25.5, "max_batch_size": 16, "priority": 3, "max_queue_delay_ms": 2, "max_queue_size": 10, "inputs": [{"name": "x", "dims": [3, 4]}]}""");
        Assert.Equal(25.5, config.SloMs);
        Assert.Equal(16, config.MaxBatchSize);
        Assert.Equal(3, config.Priority);
        Assert.Equal(2, config.MaxQueueDelayMs);
        Assert.Equal(10, config.MaxQueueSize);
        Assert.Equal([3L, 4L], config.DimOverrides["x"]);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[]", "JSON object")]
    [InlineData("""{"slo_ms": -1}""", "slo_ms")]
    [InlineData("""{"max_batch_size": 2.5}""", "max_batch_size")]
    [InlineData("""{"max_batch_size": 100000}""", "max_batch_size")]
    [InlineData("""{"max_batch_szie": 4}""", "unknown config.json field 'max_batch_szie'")]
    [InlineData("""{"inputs": [{"name": "x", "dims": [0]}]}""", "positive integers")]
    [InlineData("""{"inputs": {"name": "x"}}""", "must be an array")]
    public void Refuses_bad_configs_naming_the_problem(string json, string expected)
    {
        var error = Assert.Throws<ModelRepositoryException>(() => Parse(json));
        Assert.Contains(expected, error.Message);
        Assert.False(error.NotFound);
    }
}
