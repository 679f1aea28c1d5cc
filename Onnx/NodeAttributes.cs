using OrleansServe.Onnx.Proto;

namespace OrleansServe.Onnx;

/// <summary>Typed access to a node's attributes, with defaults, and errors that name the node.</summary>
public sealed class NodeAttributes
{
    private readonly Dictionary<string, Onnx.Proto.Attribute> attributes;
    private readonly string owner;

    internal NodeAttributes(IEnumerable<Onnx.Proto.Attribute> values, string owner)
    {
        this.owner = owner;
        attributes = new Dictionary<string, Onnx.Proto.Attribute>(StringComparer.Ordinal);
        foreach (var attribute in values)
        {
            attributes[attribute.Name] = attribute;
        }
    }

    /// <summary>Attribute names present on the node.</summary>
    public IEnumerable<string> Names => attributes.Keys;

    public bool Has(string name) => attributes.ContainsKey(name);

    public long Int(string name, long fallback) => attributes.TryGetValue(name, out var a) ? a.I : fallback;

    public long Int(string name) => Get(name).I;

    public float Float(string name, float fallback) => attributes.TryGetValue(name, out var a) ? a.F : fallback;

    public string String(string name, string fallback) => attributes.TryGetValue(name, out var a) ? a.S.ToStringUtf8() : fallback;

    public long[]? Ints(string name) => attributes.TryGetValue(name, out var a) ? [.. a.Ints] : null;

    public float[]? Floats(string name) => attributes.TryGetValue(name, out var a) ? [.. a.Floats] : null;

    public Onnx.Proto.Tensor? Tensor(string name) => attributes.TryGetValue(name, out var a) ? a.T : null;

    private Onnx.Proto.Attribute Get(string name) =>
        attributes.TryGetValue(name, out var a) ? a : throw new ModelPlanException($"{owner}: required attribute '{name}' is missing");
}
