using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Cellar.Core.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Cellar.Tests.Support;

/// <summary>
/// An S3 server that lies: a relay on 127.0.0.1 in front of a real <see cref="S3Server"/> that passes each request on
/// with its headers as signed (so the client's signature still holds) and tells the lies a test asks for
/// (<see cref="Tell"/>): wrong or non-MD5 ETags, a byte flipped on the way up or down, 500s, a connection dropped
/// mid-body, a HEAD that finds nothing. Every request it saw is logged (<see cref="Exchanges"/>), so a test can
/// count attempts and read-backs. Bodies are held in memory: for test objects of a few MiB.
/// </summary>
internal sealed partial class LyingS3Proxy : IAsyncDisposable
{
    /// <summary>Headers the relay does not copy: hop-by-hop ones, and those it sets itself from the body and target.</summary>
    private static readonly HashSet<string> NotCopied = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Host", "Content-Length", "Expect",
    };

    private readonly S3Server _server;
    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, UseCookies = false });
    private readonly Lock _lock = new();
    private readonly List<LieState> _lies = [];
    private readonly List<S3Exchange> _exchanges = [];

    private LyingS3Proxy(S3Server server, WebApplication app)
    {
        _server = server;
        _app = app;
    }

    /// <summary>The proxy's address, to give a client in place of the server's.</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Every request seen so far, in order.</summary>
    public IReadOnlyList<S3Exchange> Exchanges
    {
        get
        {
            lock (_lock)
            {
                return [.. _exchanges];
            }
        }
    }

    public static async Task<LyingS3Proxy> StartAsync(S3Server server, CancellationToken ct)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        var proxy = new LyingS3Proxy(server, app);
        app.Run(proxy.HandleAsync);
        await app.StartAsync(ct);
        proxy.Endpoint = new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        return proxy;
    }

    /// <summary>Options for a store that reaches the server through this proxy (otherwise as <see cref="S3Server.Options"/>).</summary>
    public S3Options Options(string prefix) => _server.Options(prefix) with { Endpoint = Endpoint };

    /// <summary>Adds lies; each applies on its own count, and several can apply to one request.</summary>
    public void Tell(params S3Lie[] lies)
    {
        lock (_lock)
        {
            _lies.AddRange(lies.Select(l => new LieState(l)));
        }
    }

    /// <summary>Forgets every lie: from now on requests pass unchanged.</summary>
    public void BeHonest()
    {
        lock (_lock)
        {
            _lies.Clear();
        }
    }

    /// <summary>How many requests of <paramref name="call"/> (on a key ending with <paramref name="keyEndsWith"/>) were seen.</summary>
    public int Count(S3Call call, string? keyEndsWith = null) =>
        Exchanges.Count(e => e.Call == call && (keyEndsWith is null || e.Key.EndsWith(keyEndsWith, StringComparison.Ordinal)));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var (call, key, part) = Classify(context.Request);
        var faults = Draw(call, key);
        var checksums = context.Request.Headers.Keys.Where(h => h.StartsWith("x-amz-checksum", StringComparison.OrdinalIgnoreCase) || h.StartsWith("x-amz-sdk-checksum", StringComparison.OrdinalIgnoreCase))
            .Select(h => h.ToLowerInvariant()).Order(StringComparer.Ordinal).ToList();
        if (faults.Contains(S3Fault.DropConnection))
        {
            if (context.Request.ContentLength is > 1 and var length)
            {
                await context.Request.Body.ReadExactlyAsync(new byte[length / 2], ct);
            }

            Record(new S3Exchange(call, key, part, 0, faults, checksums));
            context.Abort();
            return;
        }

        var body = await ReadAllAsync(context.Request.Body, ct);
        if (faults.Contains(S3Fault.ServerError))
        {
            Record(new S3Exchange(call, key, part, StatusCodes.Status500InternalServerError, faults, checksums));
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>", ct);
            return;
        }

        if (faults.Contains(S3Fault.NotFound))
        {
            Record(new S3Exchange(call, key, part, StatusCodes.Status404NotFound, faults, checksums));
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (faults.Contains(S3Fault.CorruptUpload) && body.Length > 0)
        {
            body[body.Length / 2] ^= 0x01;
        }

        using var request = Relay(context, body);
        using var response = await _upstream.SendAsync(request, ct);
        var answer = await response.Content.ReadAsByteArrayAsync(ct);
        if (faults.Contains(S3Fault.CorruptDownload) && answer.Length > 0)
        {
            answer[answer.Length / 2] ^= 0x01;
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!NotCopied.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        foreach (var lie in faults.Where(f => f is S3Fault.WrongEtag or S3Fault.NonMd5Etag or S3Fault.AwsMultipartEtag))
        {
            // CompleteMultipartUpload answers the ETag in its XML body, every other call in a header.
            if (call == S3Call.CompleteMultipartUpload)
            {
                var told = lie == S3Fault.AwsMultipartEtag ? AwsMultipartEtag(body) : null;
                answer = Encoding.UTF8.GetBytes(EtagElement().Replace(Encoding.UTF8.GetString(answer), m => $"<ETag>&quot;{told ?? Lie(lie, m.Groups["tag"].Value)}&quot;</ETag>"));
            }
            else if (response.Headers.ETag is { } etag)
            {
                context.Response.Headers.ETag = $"\"{Lie(lie, etag.Tag.Trim('"'))}\"";
            }

            if (lie == S3Fault.NonMd5Etag)
            {
                // What an SSE-KMS bucket adds to every answer about an object; with it, the SDK too knows the ETag is no MD5.
                context.Response.Headers["x-amz-server-side-encryption"] = "aws:kms";
                context.Response.Headers["x-amz-server-side-encryption-aws-kms-key-id"] = "arn:aws:kms:us-east-1:000000000000:key/cellar-test";
            }
        }

        Record(new S3Exchange(call, key, part, (int)response.StatusCode, faults, checksums));
        if (HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.ContentLength = response.Content.Headers.ContentLength;
            return;
        }

        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, ct);
    }

    /// <summary>The request as the client sent it (host and all), with <paramref name="body"/>, addressed to the real server.</summary>
    private HttpRequestMessage Relay(HttpContext context, byte[] body)
    {
        var target = new Uri(_server.Endpoint, context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget);
        var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target);
        request.Headers.Host = context.Request.Host.Value;
        if (context.Request.ContentLength is not null || context.Request.Headers.TransferEncoding.Count > 0)
        {
            request.Content = new ByteArrayContent(body);
        }

        foreach (var (name, values) in context.Request.Headers)
        {
            if (!NotCopied.Contains(name) && !request.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        // The SDK signs Expect when it sends it, so it must arrive as sent.
        if (context.Request.Headers.Expect.Any(v => v?.Contains("100-continue", StringComparison.OrdinalIgnoreCase) == true))
        {
            request.Headers.ExpectContinue = true;
        }

        return request;
    }

    private static string Lie(S3Fault fault, string etag) => fault switch
    {
        S3Fault.WrongEtag => (etag[0] == '0' ? '1' : '0') + etag[1..],
        _ => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
    };

    /// <summary>AWS S3's ETag of a multipart object, from the CompleteMultipartUpload request listing its parts' ETags.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "S3's ETag protocol, not a security use.")]
    private static string AwsMultipartEtag(byte[] completeRequest)
    {
        var parts = EtagElement().Matches(Encoding.UTF8.GetString(completeRequest)).Select(m => Convert.FromHexString(m.Groups["tag"].Value)).ToList();
        return Convert.ToHexStringLower(MD5.HashData(parts.SelectMany(p => p).ToArray())) + "-" + parts.Count;
    }

    private List<S3Fault> Draw(S3Call call, string key)
    {
        lock (_lock)
        {
            var faults = new List<S3Fault>();
            foreach (var state in _lies.Where(s => s.Lie.Matches(call, key)))
            {
                state.Seen++;
                if (state.Seen > state.Lie.Skip && state.Seen - state.Lie.Skip <= state.Lie.Times)
                {
                    faults.Add(state.Lie.Fault);
                }
            }

            return faults;
        }
    }

    private void Record(S3Exchange exchange)
    {
        lock (_lock)
        {
            _exchanges.Add(exchange);
        }
    }

    /// <summary>The kind of request, its key (after the bucket, with the store's prefix) and part number.</summary>
    private static (S3Call Call, string Key, int? Part) Classify(HttpRequest request)
    {
        var path = request.Path.Value ?? "/";
        var slash = path.IndexOf('/', 1);
        var key = slash < 0 ? "" : path[(slash + 1)..];
        var query = request.Query;
        int? part = int.TryParse(query["partNumber"], NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;
        var call = request.Method switch
        {
            "PUT" when query.ContainsKey("uploadId") => S3Call.UploadPart,
            "PUT" => S3Call.PutObject,
            "POST" when query.ContainsKey("uploads") => S3Call.CreateMultipartUpload,
            "POST" when query.ContainsKey("uploadId") => S3Call.CompleteMultipartUpload,
            "DELETE" when query.ContainsKey("uploadId") => S3Call.AbortMultipartUpload,
            "DELETE" => S3Call.DeleteObject,
            "HEAD" => S3Call.HeadObject,
            "GET" when key.Length == 0 => S3Call.ListObjects,
            "GET" => S3Call.GetObject,
            _ => throw new InvalidOperationException($"{request.Method} {path}{request.QueryString} is no request Cellar sends"),
        };
        return (call, key, part);
    }

    private static async Task<byte[]> ReadAllAsync(Stream body, CancellationToken ct)
    {
        using var copy = new MemoryStream();
        await body.CopyToAsync(copy, ct);
        return copy.ToArray();
    }

    [GeneratedRegex("<ETag>(?:&quot;|\")?(?<tag>[^<&\"]+)(?:&quot;|\")?</ETag>")]
    private static partial Regex EtagElement();

    /// <summary>A lie and how many matching requests it has seen.</summary>
    private sealed class LieState(S3Lie lie)
    {
        public S3Lie Lie { get; } = lie;

        public int Seen { get; set; }
    }
}
