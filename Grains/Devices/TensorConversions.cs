using OrleansServe.Engine.Execution;
using OrleansServe.Tensors;

namespace OrleansServe.Grains.Devices;

/// <summary>Converts between the wire <see cref="Tensor"/> and the engine's <see cref="NamedTensor"/> without copying data.</summary>
internal static class TensorConversions
{
    public static NamedTensor ToEngine(this Tensor tensor) =>
        Enum.IsDefined(tensor.ElementType)
            ? new NamedTensor(tensor.Name, tensor.ElementType, tensor.Shape, tensor.Data)
            : throw new InferenceException(InferenceErrorKind.BadRequest, $"tensor '{tensor.Name}': unknown element type {(int)tensor.ElementType}");

    /// <summary>The engine returns arrays it owns, so the wire tensor can take them as they are.</summary>
    public static Tensor ToWire(this NamedTensor tensor) =>
        new(tensor.Name, tensor.ElementType, tensor.Shape, OwnedArray(tensor.Data));

    private static byte[] OwnedArray(ReadOnlyMemory<byte> data) =>
        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment)
        && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : data.ToArray();
}
