using System.CommandLine;
using System.Globalization;

namespace OrleansServe.Cli.Commands;

/// <summary>Comma-separated option values as the measuring commands take them.</summary>
internal static class OptionLists
{
    /// <summary>The non-empty, trimmed items of a comma-separated list.</summary>
    public static string[] Items(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A non-empty list of positive integers no greater than <paramref name="max"/>.</summary>
    /// <exception cref="ArgumentException">An item is not such an integer, or the list is empty.</exception>
    public static int[] Positive(string text, string what, int max = int.MaxValue)
    {
        var items = Items(text);
        if (items.Length == 0)
        {
            throw new ArgumentException($"no {what} given");
        }
        return [.. items.Select(item => int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 && value <= max
            ? value
            : throw new ArgumentException($"'{item}' is not a {what} (1 to {max})"))];
    }

    /// <summary>A single option value that must be positive.</summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    public static int PositiveValue(int value, string what) => value > 0 ? value : throw new ArgumentException($"'{value}' is not a {what}");
}

/// <summary>
/// The grid a profile is measured on, as the options <c>profile</c> and <c>cpu-compare</c> share: models, compute
/// shares, batch sizes, timed repeats and the CPU device's cores.
/// </summary>
internal sealed class ProfileGridOptions(string partitionsHelp, string batchesHelp, string defaultBatches)
{
    public Option<string> Models { get; } = new("--models") { Description = "Comma-separated .onnx files, sample-zoo or zoo model names", DefaultValueFactory = _ => "resnet_small,lenet5,mlp" };

    public Option<string> Partitions { get; } = new("--partitions") { Description = partitionsHelp, DefaultValueFactory = _ => "50,100" };

    public Option<string> Batches { get; } = new("--batches") { Description = batchesHelp, DefaultValueFactory = _ => defaultBatches };

    public Option<int> Repeats { get; } = new("--repeats") { Description = "Timed batches per profile point (the median is kept)", DefaultValueFactory = _ => 20 };

    public Option<int> Cores { get; } = new("--cores") { Description = "Cores of the CPU device", DefaultValueFactory = _ => Environment.ProcessorCount };

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { Models, Partitions, Batches, Repeats, Cores })
        {
            command.Add(option);
        }
    }

    /// <summary>The grid as given.</summary>
    /// <exception cref="ArgumentException">A list holds something that is not a share or a batch size, or a count is not positive.</exception>
    public ProfileCommand.Settings Parse(ParseResult parse) => new(
        OptionLists.Items(parse.GetRequiredValue(Models)),
        OptionLists.Positive(parse.GetRequiredValue(Partitions), "compute share", 100),
        OptionLists.Positive(parse.GetRequiredValue(Batches), "batch size"),
        OptionLists.PositiveValue(parse.GetValue(Repeats), "repeat count"),
        OptionLists.PositiveValue(parse.GetValue(Cores), "core count"));
}
