namespace OrleansServe.ApiHost.Apis;

/// <summary>Request bodies read into memory under a byte limit.</summary>
public static class RequestBodies
{
    /// <summary>
    /// Reads the whole body, refusing with <paramref name="tooLarge"/> (a 413) as soon as it passes the limit,
    /// whatever Content-Length claims.
    /// </summary>
    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpRequest request, long limit, Func<ApiException> tooLarge, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw tooLarge();
        }
        var capacity = (int)Math.Min(request.ContentLength ?? 16 * 1024, limit);
        var buffer = new byte[Math.Max(capacity, 1)];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= limit)
                {
                    // Full at the limit: one more byte means the body is too large.
                    var probe = new byte[1];
                    if (await request.Body.ReadAsync(probe, cancellationToken) > 0)
                    {
                        throw tooLarge();
                    }
                    break;
                }
                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, limit));
            }
            var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                break;
            }
            length += read;
        }
        return buffer.AsMemory(0, length);
    }
}
