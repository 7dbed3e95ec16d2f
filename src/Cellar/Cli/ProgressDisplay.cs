using System.Collections.Concurrent;
using Cellar.Core.Progress;
using Spectre.Console;

namespace Cellar.Cli;

/// <summary>
/// A progress bar on stderr for snapshots, verification and restores that take more than a few seconds, shown
/// only when stderr is a terminal: pipes, <c>docker logs</c> and log files get no control characters, and a
/// quick run prints nothing but its result.
/// </summary>
internal static class ProgressDisplay
{
    private static readonly TimeSpan ShowAfter = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(100);

    public static async Task<T> RunAsync<T>(Func<IProgress<JobProgress>?, Task<T>> work)
    {
        if (Console.IsErrorRedirected)
        {
            return await work(null).ConfigureAwait(false);
        }

        // Stages report from worker threads; the bar, once shown, reads the latest fraction of each.
        var stages = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
        var running = work(new InlineProgress<JobProgress>(p => stages[p.Stage] = p.Fraction));
        if (await Task.WhenAny(running, Task.Delay(ShowAfter)).ConfigureAwait(false) == running)
        {
            return await running.ConfigureAwait(false);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var bars = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                while (true)
                {
                    foreach (var (stage, fraction) in stages)
                    {
                        if (!bars.TryGetValue(stage, out var bar))
                        {
                            bar = bars[stage] = context.AddTask(stage, maxValue: 1);
                        }

                        bar.Value = fraction;
                    }

                    if (running.IsCompleted)
                    {
                        return;
                    }

                    await Task.WhenAny(running, Task.Delay(Refresh)).ConfigureAwait(false);
                }
            }).ConfigureAwait(false);
        return await running.ConfigureAwait(false);
    }
}
