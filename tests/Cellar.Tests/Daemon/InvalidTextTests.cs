using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Cellar.Tests.Cli;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Daemon;

/// <summary>
/// A gallery name or tag that is not valid text (a lone UTF-16 surrogate, bytes that are not UTF-8) is the caller's
/// mistake: 400 with a one-line problem from the API, exit 2 from the CLI, never a 500 or a stack trace, and no file.
/// </summary>
public sealed class InvalidTextTests(InvalidTextTests.GalleryDaemon fixture) : IClassFixture<InvalidTextTests.GalleryDaemon>
{
    private static readonly JsonObject Gallery = new()
    {
        ["type"] = "snapshot",
        ["folder"] = "event-triggered",
        ["fileName"] = "gallery-added-{tag}-{yyyy}{MM}{dd}-{HH}{mm}{ss}.sqlite",
    };

    public static TheoryData<string, byte[]> Bodies => new()
    {
        { "escaped lone high surrogate", Encoding.ASCII.GetBytes("""{"galleryName":"\ud800"}""") },
        { "escaped lone low surrogate", Encoding.ASCII.GetBytes("""{"galleryName":"Summer \udc00"}""") },
        { "escaped replacement character", Encoding.ASCII.GetBytes("""{"galleryName":"Summer \ufffd"}""") },
        { "invalid UTF-8 byte", [.. Encoding.ASCII.GetBytes("""{"galleryName":"Summer """), 0xFF, .. Encoding.ASCII.GetBytes("\"}")] },
        { "UTF-8 encoded surrogate", [.. Encoding.ASCII.GetBytes("""{"galleryName":"Summer """), 0xED, 0xA0, 0x80, .. Encoding.ASCII.GetBytes("\"}")] },
        { "truncated UTF-8 sequence", [.. Encoding.ASCII.GetBytes("""{"galleryName":"Summer """), 0xE6, 0x97, .. Encoding.ASCII.GetBytes("\"}")] },
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task A_gallery_name_that_is_not_valid_text_gets_400_with_one_line_and_no_stack_trace(string what, byte[] body)
    {
        var ct = TestContext.Current.CancellationToken;
        var (sandbox, daemon) = (fixture.Sandbox, fixture.Daemon);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json") { CharSet = "utf-8" };

        using var response = await daemon.Client.PostAsync(new Uri("/api/admin/backup-on-gallery-add?wait=true", UriKind.Relative), content, ct);

        await AssertBadRequestAsync(response, daemon, what);
        Assert.False(Directory.Exists(Path.Combine(sandbox.BackupRoot, "event-triggered")), what);
    }

    [Theory]
    [InlineData("Summer%FF")]
    [InlineData("Summer%ED%A0%80")]
    [InlineData("%E6%97")]
    [InlineData("Summer%EF%BF%BD")]
    public async Task A_tag_query_that_is_not_valid_text_gets_400_with_one_line_and_no_stack_trace(string query)
    {
        var ct = TestContext.Current.CancellationToken;
        var (sandbox, daemon) = (fixture.Sandbox, fixture.Daemon);

        using var response = await daemon.Client.PostAsync(new Uri($"/api/admin/jobs/gallery?wait=true&tag={query}", UriKind.Relative), null, ct);

        await AssertBadRequestAsync(response, daemon, query);
        Assert.False(Directory.Exists(Path.Combine(sandbox.BackupRoot, "event-triggered")), query);
    }

    [Fact]
    public async Task A_tag_with_bytes_that_are_not_UTF_8_on_the_command_line_is_a_usage_error()
    {
        using var sandbox = await CliSandbox.CreateAsync(1 << 20);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(sandbox.ConfigPath, TestContext.Current.CancellationToken))!;
        config["jobs"]!["gallery"] = Gallery.DeepClone();
        await File.WriteAllTextAsync(sandbox.ConfigPath, config.ToJsonString(), TestContext.Current.CancellationToken);

        // The shell passes the raw byte 0xFF, as a mis-encoded gallery name from a script would.
        var (exit, output) = await CliSandbox.ExecAsync(
            "sh", "-c", "\"$0\" \"$1\" --config \"$2\" run gallery --tag \"Summer $(printf '\\377')\"", CellarProcess.DotnetHost(), CellarProcess.DllPath, sandbox.ConfigPath);

        Assert.True(exit == 2, $"exit {exit}: {output}");
        Assert.StartsWith("cellar: ", output, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', output);
        Assert.Contains("not valid text", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(sandbox.BackupRoot, "event-triggered")));
    }

    private static async Task AssertBadRequestAsync(HttpResponseMessage response, DaemonProcess daemon, string what)
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: {(int)response.StatusCode} {body}\n{daemon.Output}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var detail = JsonNode.Parse(body)!["detail"]!.GetValue<string>();
        Assert.Contains("not valid text", detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', detail);
        Assert.DoesNotContain("Exception", daemon.Output, StringComparison.Ordinal);
    }

    /// <summary>One daemon with a gallery job for every request of this class: each request must leave it untouched.</summary>
    public sealed class GalleryDaemon : IAsyncLifetime
    {
        internal CliSandbox Sandbox { get; private set; } = null!;

        internal DaemonProcess Daemon { get; private set; } = null!;

        public async ValueTask InitializeAsync()
        {
            Sandbox = await CliSandbox.CreateAsync(1 << 20);
            Daemon = await DaemonProcess.StartAsync(Sandbox, config => config["jobs"]!["gallery"] = Gallery.DeepClone());
        }

        public async ValueTask DisposeAsync()
        {
            await Daemon.DisposeAsync();
            Sandbox.Dispose();
        }
    }
}
