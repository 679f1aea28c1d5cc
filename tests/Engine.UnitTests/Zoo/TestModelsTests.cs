using System.Buffers.Binary;

namespace OrleansServe.Engine.UnitTests.Zoo;

public class TestModelsTests
{
    [Fact]
    public void Typed_identity_returns_every_datatype_bit_for_bit()
    {
        const int batch = 2;
        var inputs = TestModels.TypedIdentityInputs.ToDictionary(i => i.Name, i => (i.Type, Bytes: SampleBytes(i.Type, batch * 4)));
        var values = inputs.ToDictionary(i => i.Key, i => OrtRunner.TensorFromBytes(i.Value.Type, i.Value.Bytes, [batch, 4]));
        try
        {
            using var runner = new OrtRunner(TestModels.TypedIdentity());
            var outputs = runner.RunAll(values, inputs.Keys.Select(name => name + "_out").ToList());

            foreach (var (name, (_, bytes)) in inputs)
            {
                Assert.Equal(bytes, outputs[name + "_out"].Bytes);
                Assert.Equal([batch, 4L], outputs[name + "_out"].Shape);
            }
        }
        finally
        {
            foreach (var value in values.Values)
            {
                value.Dispose();
            }
        }
    }

    [Fact]
    public void Add_constant_adds_the_constant_to_every_element()
    {
        using var runner = new OrtRunner(TestModels.AddConstant(2.5f));

        var (values, shape) = runner.Run("x", [0f, 1f, -2.5f, 10f, 20f, 30f], [2, 3], "y");

        Assert.Equal([2L, 3L], shape);
        Assert.Equal([2.5f, 3.5f, 0f, 12.5f, 22.5f, 32.5f], values);
    }

    [Fact]
    public void Fixed_shape_model_applies_relu()
    {
        using var runner = new OrtRunner(TestModels.FixedShape());

        var (values, shape) = runner.Run("x", [-1f, 0f, 1f, -2f, 2f, 3f], [2, 3], "y");

        Assert.Equal([2L, 3L], shape);
        Assert.Equal([0f, 0f, 1f, 0f, 2f, 3f], values);
    }

    /// <summary>Little-endian element bytes with extreme and ordinary values of the type.</summary>
    private static byte[] SampleBytes(ElementType type, int count)
    {
        var bytes = new byte[count * type.ByteSize()];
        for (var i = 0; i < count; i++)
        {
            var slot = bytes.AsSpan(i * type.ByteSize());
            switch (type)
            {
                case ElementType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(slot, i % 2 == 0 ? float.MaxValue / (i + 1) : -i * 0.1f); break;
                case ElementType.Fp16: BinaryPrimitives.WriteHalfLittleEndian(slot, i % 2 == 0 ? Half.MaxValue : (Half)(-i * 0.5f)); break;
                case ElementType.Int64: BinaryPrimitives.WriteInt64LittleEndian(slot, i % 2 == 0 ? long.MinValue + i : long.MaxValue - i); break;
                case ElementType.Int32: BinaryPrimitives.WriteInt32LittleEndian(slot, i % 2 == 0 ? int.MinValue + i : int.MaxValue - i); break;
                case ElementType.Int8: slot[0] = (byte)(sbyte)(i % 2 == 0 ? sbyte.MinValue + i : sbyte.MaxValue - i); break;
                case ElementType.UInt8: slot[0] = (byte)(i % 2 == 0 ? i : byte.MaxValue - i); break;
                case ElementType.Bool: slot[0] = (byte)(i % 3 == 0 ? 1 : 0); break;
                default: throw new ArgumentOutOfRangeException(nameof(type), type, "not an input of the typed identity model");
            }
        }
        return bytes;
    }
}
