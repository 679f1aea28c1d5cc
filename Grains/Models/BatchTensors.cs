namespace OrleansServe.Grains.Models;

/// <summary>Stacks requests into one batch along the first dimension and splits outputs back.</summary>
internal static class BatchTensors
{
    /// <summary>Inputs of the batch in graph order; a batch of one request is passed through without a copy.</summary>
    public static Tensor[] Stack(IReadOnlyList<PreparedRequest> requests)
    {
        if (requests.Count == 1)
        {
            return requests[0].Inputs;
        }
        var total = requests.Sum(r => (long)r.BatchSize);
        var stacked = new Tensor[requests[0].Inputs.Length];
        for (var i = 0; i < stacked.Length; i++)
        {
            var first = requests[0].Inputs[i];
            var data = new byte[requests.Sum(r => r.Inputs[i].Data.LongLength)];
            var offset = 0;
            foreach (var request in requests)
            {
                var part = request.Inputs[i].Data;
                Buffer.BlockCopy(part, 0, data, offset, part.Length);
                offset += part.Length;
            }
            var shape = (long[])first.Shape.Clone();
            shape[0] = total;
            stacked[i] = new Tensor(first.Name, first.ElementType, shape, data);
        }
        return stacked;
    }

    /// <summary>Per request, the outputs in model order, cut along the first dimension by each request's batch size.</summary>
    public static Tensor[][] Split(Tensor[] outputs, IReadOnlyList<int> batchSizes)
    {
        var result = new Tensor[batchSizes.Count][];
        if (batchSizes.Count == 1)
        {
            result[0] = outputs;
            return result;
        }
        var total = batchSizes.Sum();
        for (var r = 0; r < batchSizes.Count; r++)
        {
            result[r] = new Tensor[outputs.Length];
        }
        for (var o = 0; o < outputs.Length; o++)
        {
            var output = outputs[o];
            if (output.Shape.Length == 0 || output.Shape[0] != total)
            {
                throw new InferenceException(InferenceErrorKind.ExecutionFailed,
                    $"output '{output.Name}' has shape [{string.Join(",", output.Shape)}], which does not carry the batch of {total}");
            }
            var bytesPerSample = output.Data.Length / total;
            var offset = 0;
            for (var r = 0; r < batchSizes.Count; r++)
            {
                var length = bytesPerSample * batchSizes[r];
                var shape = (long[])output.Shape.Clone();
                shape[0] = batchSizes[r];
                result[r][o] = new Tensor(output.Name, output.ElementType, shape, output.Data.AsSpan(offset, length).ToArray());
                offset += length;
            }
        }
        return result;
    }
}
