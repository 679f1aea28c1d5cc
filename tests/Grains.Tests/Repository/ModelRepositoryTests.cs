namespace OrleansServe.Grains.Tests.Repository;

public sealed class ModelRepositoryTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("repo-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    private void AddVersion(string model, string version, byte[]? bytes = null)
    {
        var folder = Path.Combine(root, model, version);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, ModelRepository.ModelFileName), bytes ?? [1, 2, 3]);
    }

    [Fact]
    public void Lists_models_with_a_version_and_reads_the_newest()
    {
        AddVersion("a", "1", [1]);
        AddVersion("a", "10", [10]);
        AddVersion("a", "2", [2]);
        Directory.CreateDirectory(Path.Combine(root, "empty"));
        AddVersion("b", "notaversion");
        File.WriteAllText(Path.Combine(root, "a", "config.json"), """{"slo_ms": 7}""");
        var repository = new ModelRepository(root);

        Assert.Equal(["a"], repository.ListModels());
        Assert.Equal(["1", "2", "10"], repository.ListVersions("a"));
        var files = repository.ReadLatest("a");
        Assert.Equal("10", files.Version);
        Assert.Equal([10], files.OnnxBytes);
        Assert.Equal(7, files.Config.SloMs);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    [InlineData("")]
    [InlineData("a\\b")]
    [InlineData("name with space")]
    public void Names_that_could_leave_the_repository_are_not_models(string name)
    {
        Assert.False(ModelRepository.IsValidModelName(name));
        var error = Assert.Throws<ModelRepositoryException>(() => new ModelRepository(root).ReadLatest(name));
        Assert.True(error.NotFound);
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("42", true)]
    [InlineData("0", false)]
    [InlineData("01", false)]
    [InlineData("-1", false)]
    [InlineData("1.0", false)]
    [InlineData("..", false)]
    public void Versions_are_positive_integers(string version, bool valid) =>
        Assert.Equal(valid, ModelRepository.IsValidVersion(version));

    [Fact]
    public void Refuses_model_files_over_the_size_limit()
    {
        AddVersion("big", "1", new byte[100]);
        var error = Assert.Throws<ModelRepositoryException>(() => new ModelRepository(root, maxModelBytes: 99).ReadLatest("big"));
        Assert.Contains("limit", error.Message);
    }

    [Fact]
    public void An_unknown_model_is_not_found()
    {
        var error = Assert.Throws<ModelRepositoryException>(() => new ModelRepository(root).ReadLatest("nope"));
        Assert.True(error.NotFound);
    }
}
