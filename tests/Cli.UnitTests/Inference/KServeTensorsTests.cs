using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using OrleansServe.KServe;

namespace OrleansServe.Cli.UnitTests.Inference;

public sealed class KServeTensorsTests
{
    private static IReadOnlyList<NamedTensor> Read(string json) => KServeTensors.ReadRequest(Encoding.UTF8.GetBytes(json)).Inputs;

    [Fact]
    public void Reads_nested_and_flat_data_row_major()
    {
        var tensors = Read("""{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.5]]},{"name":"ids","shape":[3],"datatype":"INT64","data":[7,8,9]}]}""");
        Assert.Equal([1f, 2f, 3f, 4.5f], MemoryMarshal.Cast<byte, float>(tensors[0].Data.Span).ToArray());
        Assert.Equal([2L, 2L], tensors[0].Shape);
        Assert.Equal(ElementType.Int64, tensors[1].ElementType);
        Assert.Equal([7L, 8L, 9L], MemoryMarshal.Cast<byte, long>(tensors[1].Data.Span).ToArray());
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]}""", "expected 3 elements")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"FP33","data":[1]}]}""", "unknown datatype")]
    [InlineData("""{"inputs":[{"name":"x","shape":[1],"datatype":"INT32","data":["a"]}]}""", "element 0 is the string")]
    [InlineData("""{"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[]}]}""", "negative dimension")]
    [InlineData("""{"outputs":[]}""", "has no 'inputs'")]
    [InlineData("""{"inputs":[""", "malformed JSON")]
    public void Refuses_bad_requests_with_a_message_that_says_why(string json, string expected)
    {
        var error = Assert.Throws<KServeProtocolException>(() => Read(json));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Writes_a_response_body_that_reads_back()
    {
        var tensor = new NamedTensor("y", ElementType.Fp32, [1, 2], MemoryMarshal.AsBytes(new[] { 0.5f, float.NaN }.AsSpan()).ToArray());
        using var document = JsonDocument.Parse(KServeTensors.WriteResponse("m", [tensor]));
        var output = document.RootElement.GetProperty("outputs")[0];
        Assert.Equal("m", document.RootElement.GetProperty("model_name").GetString());
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal(0.5, output.GetProperty("data")[0].GetDouble());
        Assert.Equal("NaN", output.GetProperty("data")[1].GetString());
    }
}
