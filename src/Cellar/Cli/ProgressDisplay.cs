using Cellar.Core.Jobs;
using Spectre.Console;

namespace Cellar.Cli;

/// <summary>
/// A progress bar on stderr for snapshots, verification and restores, shown only when stderr is a terminal:
/// pipes, <c>docker logs</c> and log files get no control characters.
/// </summary>
internal static class ProgressDisplay
{
    public static async Task<T> RunAsync<T>(Func<IProgress<JobProgress>?, Task<T>> work)
    {
        if (Console.IsErrorRedirected)
        {
            return await work(null).ConfigureAwait(false);
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var progress = new Progress<JobProgress>(p =>
                {
                    lock (tasks)
                    {
                        if (!tasks.TryGetValue(p.Stage, out var task))
                        {
                            task = tasks[p.Stage] = context.AddTask(p.Stage, maxValue: 1);
                        }

                        task.Value = p.Fraction;
                    }
                });
                return await work(progress).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }
}
