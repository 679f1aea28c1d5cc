namespace OrleansServe.Cli.UnitTests.Loadgen;

public sealed class ConcurrencyListTests
{
    [Fact]
    public void Comma_separated_concurrencies_give_one_run_each_in_order()
    {
        Assert.Equal([1, 8, 32], ConcurrencyList.Parse("1, 8,32", out var error)!);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1,,8")]
    [InlineData("-4")]
    [InlineData("eight")]
    public void Anything_but_positive_integers_is_an_error_naming_the_bad_part(string text)
    {
        Assert.Null(ConcurrencyList.Parse(text, out var error));
        Assert.NotNull(error);
    }
}
