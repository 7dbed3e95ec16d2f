using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Logging;
using Microsoft.Extensions.Logging;

namespace Cellar.Cli;

/// <summary>What every command needs: the validated config, loggers writing to Cellar's log files, and the clock.</summary>
internal sealed class CliContext : IDisposable
{
    private CliContext(CellarConfig config, bool verbose)
    {
        Config = config;
        CpuPriority.Lower(config.Nice);
        Loggers = LoggerFactory.Create(logging =>
        {
            logging.AddProvider(new FileLoggerProvider(config.LogDir, Time, problem => Console.Error.WriteLine($"cellar: {problem}")));
            if (verbose)
            {
                logging.AddSimpleConsole(o => o.SingleLine = true);
                logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            }
            else
            {
                logging.AddProvider(new NoticeProvider());
            }
        });
    }

    public CellarConfig Config { get; }

    public ILoggerFactory Loggers { get; }

    public TimeProvider Time { get; } = TimeProvider.System;

    public static CliContext Load(string? configPath, bool verbose) => new(ConfigLoader.Load(configPath), verbose);

    public void Dispose() => Loggers.Dispose();
}
