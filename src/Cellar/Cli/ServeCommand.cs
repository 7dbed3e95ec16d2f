using System.CommandLine;
using Cellar.Core.Scheduling;
using Cellar.Daemon;
using Cellar.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary><c>cellar serve</c>: the daemon: schedules, health endpoints; SIGTERM stops it after letting a running job finish.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the daemon: every job on its schedule (with catch-up), until SIGTERM");
        command.SetAction(CellarCli.Action(async (_, context, cancellationToken) =>
        {
            var config = context.Config;
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls(config.Listen.GetLeftPart(UriPartial.Authority));
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
            builder.Logging.AddProvider(new FileLoggerProvider(config.LogDir, context.Time));
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.Services.AddSingleton(config);
            builder.Services.AddSingleton(context.Time);
            builder.Services.AddSingleton(provider => new JobDispatcher(
                SchedulerService.Runner(config, context.Time, provider.GetRequiredService<ILoggerFactory>()),
                config.MaxParallelDatabases,
                provider.GetRequiredService<ILogger<JobDispatcher>>()));
            builder.Services.AddHostedService<SchedulerService>();
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = config.ShutdownGrace + TimeSpan.FromSeconds(10));

            await using var app = builder.Build();
            HealthEndpoints.Map(app);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            foreach (var address in app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses)
            {
                Console.WriteLine($"cellar: listening on {address}");
            }

            await app.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
            return 0;
        }));
        return command;
    }
}
