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
