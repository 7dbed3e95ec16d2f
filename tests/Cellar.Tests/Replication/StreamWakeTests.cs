using Cellar.Core.Replication;
using Xunit;

namespace Cellar.Tests.Replication;

/// <summary>
/// The offsite uploader asks the follower for a step before each pass: the ask cuts the follower's batch window short,
/// and is answered only by a step that began after it, so the pass holds every commit made before it asked.
/// </summary>
public sealed class StreamWakeTests
{
    private static readonly TimeSpan Long = TimeSpan.FromHours(1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_ask_cuts_the_batch_window_short_and_is_answered_by_the_next_step()
    {
        using var wake = new StreamWake();
        Assert.Null(wake.Begin());

        var batch = wake.BatchAsync(Long, Ct);
        var asked = wake.StepNowAsync(Long, Ct);
        await batch.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.False(asked.IsCompleted);

        var step = wake.Begin();
        Assert.NotNull(step);
        Assert.False(asked.IsCompleted);
        step.TrySetResult();
        await asked.WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }

    [Fact]
    public async Task An_ask_made_during_a_step_waits_for_the_step_after_it()
    {
        using var wake = new StreamWake();
        var during = wake.Begin();
        Assert.Null(during);

        var asked = wake.StepNowAsync(Long, Ct);
        var after = wake.Begin();
        Assert.NotNull(after);
        Assert.False(asked.IsCompleted);
        after.TrySetResult();
        await asked.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        // Answered: the next batch window runs its length again.
        Assert.Null(wake.Begin());
        Assert.False(wake.BatchAsync(Long, Ct).IsCompleted);
    }

    [Fact]
    public async Task A_step_that_does_not_come_holds_the_pass_up_no_longer_than_its_patience()
    {
        using var wake = new StreamWake();
        await wake.StepNowAsync(TimeSpan.FromMilliseconds(10), Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
    }
}
