using OrleansServe.Onnx;

namespace OrleansServe.Engine.Gpu.Planning;

/// <summary>Shape arithmetic shared by operators: element counts, strides, axes and broadcasting.</summary>
public static class ShapeMath
{
    public static long Count(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (var d in shape)
        {
            count *= d;
        }
        return count;
    }

    /// <summary>Row-major strides of a contiguous tensor.</summary>
    public static int[] Strides(int[] shape)
    {
        var strides = new int[shape.Length];
        var stride = 1;
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= shape[d];
        }
        return strides;
    }

    /// <summary>Resolves a possibly negative axis against a rank.</summary>
    internal static int Axis(long axis, int rank, PlanNode node)
    {
        var resolved = axis < 0 ? axis + rank : axis;
        return resolved >= 0 && resolved < rank
            ? (int)resolved
            : throw node.Error($"axis {axis} is out of range for rank {rank}");
    }

    /// <summary>The numpy-style broadcast of two shapes.</summary>
    internal static int[] Broadcast(int[] a, int[] b, PlanNode node)
    {
        var rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i - (rank - a.Length) is var ia && ia >= 0 ? a[ia] : 1;
            var db = i - (rank - b.Length) is var ib && ib >= 0 ? b[ib] : 1;
            result[i] = da == db || db == 1 ? da : da == 1 ? db
                : throw node.Error($"shapes [{string.Join(',', a)}] and [{string.Join(',', b)}] do not broadcast");
        }
        return result;
    }

    /// <summary>Strides to read <paramref name="input"/> as if broadcast to <paramref name="output"/>: zero on broadcast dimensions.</summary>
    public static int[] BroadcastStrides(int[] input, int[] output)
    {
        var own = Strides(input);
        var strides = new int[output.Length];
        for (var i = 0; i < output.Length; i++)
        {
            var j = i - (output.Length - input.Length);
            strides[i] = j >= 0 && input[j] != 1 ? own[j] : 0;
        }
        return strides;
    }

    public static string Format(int[] shape) => $"[{string.Join(',', shape)}]";
}
