using System.Text;
using static OrleansServe.ApiHost.UnitTests.Protocol.KServeBodies;

namespace OrleansServe.ApiHost.UnitTests.Protocol;

/// <summary>Whatever bytes arrive, the parser either succeeds with consistent tensors or throws <see cref="KServeProtocolException"/>.</summary>
public sealed class InferRequestParserFuzzTests
{
    private const int Seed = 7_340_033;
    private const int Iterations = 30_000;

    private static readonly string[] HugeTokens =
    [
        "1e999999", "-1e999999", "99999999999999999999999999", "18446744073709551616", "9223372036854775807",
        "-9223372036854775808", "1.7976931348623157E+309", "4294967296", "-0", "0.0000000000000000000001",
        "\"NaN\"", "\"Infinity\"", "null", "true", "{}", "[]", "\"\\u0000\"", "\"\\ud800\"",
    ];

    private static readonly byte[] StructuralBytes = Encoding.ASCII.GetBytes("[]{},:\"-.eE0123456789 \\");

    private static IEnumerable<(byte[] Body, int? HeaderLength)> Corpus()
    {
        yield return (Utf8("""
            {"id":"a1","parameters":{"binary_data_output":true},
             "inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[[1.5,-2,3e-3],[4,"NaN",6]]}],
             "outputs":[{"name":"y","parameters":{"binary_data":false}},{"name":"z"}]}
            """), null);
        yield return (Utf8("""{"inputs":[{"data":[[1,2],[3,4]],"datatype":"INT64","shape":[2,2],"name":"n"}]}"""), null);
        yield return (Utf8("""
            {"inputs":[
              {"name":"b","shape":[3],"datatype":"BOOL","data":[true,false,true]},
              {"name":"u8","shape":[2],"datatype":"UINT8","data":[0,255]},
              {"name":"i8","shape":[2],"datatype":"INT8","data":[-128,127]},
              {"name":"u16","shape":[1],"datatype":"UINT16","data":[65535]},
              {"name":"i16","shape":[1],"datatype":"INT16","data":[-32768]},
              {"name":"u32","shape":[1],"datatype":"UINT32","data":[4294967295]},
              {"name":"i32","shape":[1],"datatype":"INT32","data":[-2147483648]},
              {"name":"u64","shape":[1],"datatype":"UINT64","data":[18446744073709551615]},
              {"name":"h","shape":[2],"datatype":"FP16","data":[0.1,"-Infinity"]},
              {"name":"d","shape":[1,1],"datatype":"FP64","data":[[1e300]]}]}
            """), null);

        var (body, headerLength) = WithBinary(
            """
            {"inputs":[
              {"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}},
              {"name":"j","shape":[1],"datatype":"INT8","data":[5]},
              {"name":"c","shape":[2,2],"datatype":"UINT16","parameters":{"binary_data_size":8}}]}
            """,
            Bytes(1.5f, -2f),
            Bytes<ushort>(1, 2, 3, 4));
        yield return (body, headerLength);
    }

    [Fact]
    public void Mutated_bodies_only_ever_parse_or_raise_a_protocol_error()
    {
        var random = new Random(Seed);
        var corpus = Corpus().ToArray();
        foreach (var (body, headerLength) in corpus)
        {
            InferRequestParser.Parse(body, headerLength);
        }

        var parsed = 0;
        var rejected = 0;
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var (original, originalHeaderLength) = corpus[random.Next(corpus.Length)];
            var body = original.ToList();
            var headerLength = originalHeaderLength;
            var mutations = random.Next(1, 4);
            for (var m = 0; m < mutations; m++)
            {
                headerLength = Mutate(random, body, headerLength);
            }

            var bytes = body.ToArray();
            try
            {
                var result = InferRequestParser.Parse(bytes, headerLength);
                AssertConsistent(result);
                parsed++;
            }
            catch (KServeProtocolException exception)
            {
                Assert.False(string.IsNullOrWhiteSpace(exception.Message));
                rejected++;
            }
            catch (Exception exception)
            {
                Assert.Fail(
                    $"iteration {iteration}: {exception.GetType().Name} escaped for header length {headerLength?.ToString() ?? "none"} " +
                    $"and body (base64) {Convert.ToBase64String(bytes)}\n{exception}");
            }
        }

        Assert.True(rejected > Iterations / 2, $"only {rejected} of {Iterations} mutated bodies were rejected");
        Assert.True(parsed > 0, "no mutated body parsed: the mutations never leave a body valid, so the success path goes unchecked");
    }

    private static int? Mutate(Random random, List<byte> body, int? headerLength)
    {
        var at = random.Next(body.Count + 1);
        switch (random.Next(9))
        {
            case 0:
                body.RemoveRange(at, body.Count - at);
                break;
            case 1 when body.Count > 0:
                body[Math.Min(at, body.Count - 1)] = (byte)random.Next(256);
                break;
            case 2 when body.Count > 0:
                body[Math.Min(at, body.Count - 1)] = StructuralBytes[random.Next(StructuralBytes.Length)];
                break;
            case 3:
                body.InsertRange(at, Encoding.UTF8.GetBytes(HugeTokens[random.Next(HugeTokens.Length)]));
                break;
            case 4:
                body.InsertRange(at, ReplaceNumberAt(body, at, HugeTokens[random.Next(HugeTokens.Length)]));
                break;
            case 5:
                var depth = random.Next(1, 80);
                body.InsertRange(at, Encoding.ASCII.GetBytes(new string('[', depth) + (random.Next(2) == 0 ? new string(']', depth) : "")));
                break;
            case 6:
                body.RemoveRange(at, Math.Min(random.Next(1, 16), body.Count - at));
                break;
            case 7:
                var length = Math.Min(random.Next(1, 32), body.Count - at);
                body.InsertRange(at, body.GetRange(at, length));
                break;
            case 8:
                headerLength = random.Next(4) switch
                {
                    0 => null,
                    1 => headerLength + random.Next(-3, 4),
                    2 => random.Next(-2, body.Count + 3),
                    _ => body.Count,
                };
                break;
        }
        return headerLength;
    }

    /// <summary>Removes the number (or other run of value characters) around <paramref name="at"/> and returns the replacement to insert there.</summary>
    private static byte[] ReplaceNumberAt(List<byte> body, int at, string replacement)
    {
        static bool IsValueByte(byte b) => b is (byte)'-' or (byte)'.' or (byte)'e' or (byte)'E' or (byte)'+' or >= (byte)'0' and <= (byte)'9';
        var end = at;
        while (end < body.Count && IsValueByte(body[end]))
        {
            end++;
        }
        body.RemoveRange(at, end - at);
        return Encoding.UTF8.GetBytes(replacement);
    }

    private static void AssertConsistent(ParsedInferRequest result)
    {
        var names = new HashSet<string>();
        foreach (var input in result.Request.Inputs)
        {
            Assert.True(names.Add(input.Name));
            var type = input.ElementType;
            Assert.True(Enum.IsDefined(type));
            Assert.All(input.Shape, dim => Assert.True(dim >= 0));
            Assert.Equal(input.ElementCount * type.ByteSize(), input.Data.Length);
        }
    }
}
