using System.CommandLine;
using Cellar.Daemon;
using Cellar.Logging;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary><c>cellar serve</c>: the daemon: schedules, health endpoints; SIGTERM stops it after letting a running job finish.</summary>
internal static partial class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the daemon: every job on its schedule (with catch-up), until SIGTERM");
        command.SetAction(CellarCli.Action(async (_, context, cancellationToken) =>
        {
            // The file logger reports a log folder it cannot use as a warning on the daemon's console log (journald,
            // docker logs), the one place left to say it; a problem before the app is built can only go to stderr.
            ILogger? console = null;
            await using var app = DaemonApp.Build(context.Config, context.Time, logging =>
            {
                logging.ClearProviders();
                logging.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    o.UseUtcTimestamp = true;
                });
                logging.AddProvider(new FileLoggerProvider(context.Config.LogDir, context.Time, problem =>
                {
                    if (console is null)
                    {
                        Console.Error.WriteLine($"cellar: {problem}");
                    }
                    else
                    {
                        LogFilesUnavailable(console, problem);
                    }
                }));
            });
            console = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cellar.Logging");
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var address in app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses)
            {
                Console.WriteLine($"cellar: listening on {address}");
            }

            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Problem}")]
    private static partial void LogFilesUnavailable(ILogger logger, string problem);
}
