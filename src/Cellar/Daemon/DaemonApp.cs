using Prometheus;
using Cellar.Core.Configuration;
using Cellar.Core.Jobs;
using Cellar.Core.Scheduling;
using Cellar.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Cellar.Daemon;

/// <summary>
/// The daemon as one ASP.NET Core app: scheduler, dispatcher, health and admin endpoints. Every answer carries
/// <see cref="ApiHeaders"/>; a request for a host name the daemon does not know is refused first (<see cref="HostFilter"/>).
/// </summary>
internal static partial class DaemonApp
{
    public static WebApplication Build(CellarConfig config, TimeProvider time, Action<ILoggingBuilder> logging)
    {
        var token = BearerToken.Admin(config);
        var metricsToken = BearerToken.Metrics(config);

        // A backup keeps every core busy with compression work items; requests must not queue behind them while the
        // thread pool slowly adds threads (measured: trigger p99 3.5 s during a 1 GB backup before this).
        ThreadPool.GetMinThreads(out var workers, out var io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));

        // Runtime event counters and meters would be polled all the time; process metrics are read per scrape.
        Metrics.SuppressDefaultMetrics(new SuppressDefaultMetricOptions { SuppressEventCounters = true, SuppressMeters = true, SuppressDebugMetrics = true });
        // Cellar's settings come from its own config file, not appsettings.json: no content root in the working
        // directory, no configuration sources, so nothing watches files (a watcher on the working directory woke the
        // idle daemon on every file written there).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();

        // Under systemd (Type=notify) the host reports ready and stopping; elsewhere this does nothing.
        builder.Host.UseSystemd();
        builder.WebHost.UseUrls(config.Listen.GetLeftPart(UriPartial.Authority));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = BadRequests.MaxBodyBytes);
        logging(builder.Logging);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton<OffsiteWorker>();
        builder.Services.AddSingleton<FullCheckWorker>();
        builder.Services.AddSingleton(provider =>
        {
            var loggers = provider.GetRequiredService<ILoggerFactory>();
            // Every run, scheduled or asked for over HTTP, takes the same way as `cellar run`'s, with the daemon's steps:
            // counted, alerted, copied offsite and given its full check in the background.
            var pipeline = new JobPipeline(
                new JobRunner(config, time, loggers),
                new JobMetrics(config, time),
                new AlertStep(config, time, loggers.CreateLogger("Cellar.Alerts")),
                provider.GetRequiredService<OffsiteWorker>(),
                provider.GetRequiredService<FullCheckWorker>());
            return new JobDispatcher(pipeline.RunAsync, config.MaxParallelDatabases, provider.GetRequiredService<ILogger<JobDispatcher>>());
        });
        builder.Services.AddHostedService<SchedulerService>();
        builder.Services.AddSingleton<StreamService>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<StreamService>());
        builder.Services.AddHostedService(provider => provider.GetRequiredService<OffsiteWorker>());
        builder.Services.AddHostedService(provider => provider.GetRequiredService<FullCheckWorker>());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = config.ShutdownGrace + TimeSpan.FromSeconds(10));
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, DaemonJson.Default));
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        builder.Services.AddSingleton<TriggerLimit>();
        builder.Services.AddSingleton<ReadinessLog>();

        var app = builder.Build();
        ApiHeaders.Use(app);
        BadRequests.Use(app);
        // One group for every route, so that the host filter's answer is listed on each in the OpenAPI document.
        var routes = app.MapGroup(string.Empty);
        HostFilter.Use(app, routes, config, token, metricsToken);
        routes.MapHealthApi();
        routes.MapAdminApi(token);
        routes.MapMetricsApi(metricsToken, token);
        routes.MapDashboard();
        app.MapOpenApi();
        FolderMetrics.Watch(app, config, time);
        StreamMetrics.Watch(app, app.Services.GetRequiredService<StreamService>(), time);
        if (!token.Configured)
        {
            LogNoToken(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Cellar.Daemon"));
        }

        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "the admin API is off (its routes answer 503): put a token of 16+ characters in a file named by apiTokenFile, or in CELLAR_API_TOKEN")]
    private static partial void LogNoToken(ILogger logger);
}
