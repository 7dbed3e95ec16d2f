using System.Net;
using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Core.Logs;
using Cellar.Tests.Support;
using Xunit;

namespace Cellar.Tests.Logs;

/// <summary>
/// <see cref="AppNotifier"/> alone: an app that cannot be told to reopen its log fails the notification with what went
/// wrong, so the signal rotation gives the log its name back instead of waiting for a reopen that never comes.
/// </summary>
public sealed class AppNotifierTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task A_reopen_url_that_answers_an_error_fails_the_notification_with_its_status()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = _temp.Combine("backend.log");
        using var app = new HttpListener();
        var url = $"http://127.0.0.1:{LoopbackPort.Free()}/admin/reopen-logs/";
        app.Prefixes.Add(url);
        app.Start();
        var serving = Task.Run(async () =>
        {
            var context = await app.GetContextAsync();
            context.Response.StatusCode = 500;
            context.Response.Close();
            return context.Request.HttpMethod;
        }, ct);
        var job = LogJobs.WriteConfig(_temp, [log], reopenUrl: url).FindJob("logs");

        var error = await Assert.ThrowsAsync<CellarException>(() => AppNotifier.NotifyAsync((RotateJob)job, log, [], ct));

        Assert.Equal($"{url} answered 500 to the request to reopen the log", error.Message);
        Assert.Equal("POST", await serving);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a pid")]
    [InlineData("1")]
    public async Task A_pid_file_without_the_pid_of_an_app_is_refused_before_any_signal(string content)
    {
        var ct = TestContext.Current.CancellationToken;
        var pidFile = _temp.Combine("backend.pid");
        await File.WriteAllTextAsync(pidFile, content, ct);
        var job = LogJobs.WriteConfig(_temp, [_temp.Combine("backend.log")], pidFile).FindJob("logs");

        var error = await Assert.ThrowsAsync<CellarException>(() => AppNotifier.NotifyAsync((RotateJob)job, _temp.Combine("backend.log"), [], ct));

        Assert.Equal($"pid file {pidFile} does not hold the pid of the app writing the log", error.Message);
    }
}
