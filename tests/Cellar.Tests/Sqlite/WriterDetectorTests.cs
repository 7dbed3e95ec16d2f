using System.Globalization;

using Cellar.Core.IO;
using Cellar.Core.Sqlite;
using Cellar.Tests.Support;

using Xunit;

namespace Cellar.Tests.Sqlite;

/// <summary>
/// The writer check over a <c>/proc</c>-shaped folder, to inject what a real scan meets by chance: descriptors that
/// close between the listing and the look, processes that are not ours to read. Live processes are covered end to
/// end in <c>Cli/RestoreTests</c>.
/// </summary>
public sealed class WriterDetectorTests : IDisposable
{
    private const int ReadWrite = 0x8002; // O_RDWR | O_LARGEFILE, as fdinfo shows it (in octal)
    private const int ReadOnly = 0x8000;

    private readonly TempFolder _temp = new();

    [Fact]
    public void Writers_are_found_even_when_their_other_descriptors_close_mid_scan()
    {
        const int Processes = 10;
        const int Descriptors = 10;
        var database = _temp.Combine("app.sqlite");
        var proc = _temp.Combine("proc");

        // Each process lists the same descriptors, all naming the database, but only one is still open when the scan
        // reads its fdinfo (a different one in each process): the others closed mid-scan. Whatever order the folder
        // lists them in, most processes show a closed one before the open one.
        for (var p = 0; p < Processes; p++)
        {
            var pid = 4000 + p;
            AddProcess(proc, pid, $"app{p}");
            for (var fd = 3; fd < 3 + Descriptors; fd++)
            {
                var path = Path.Combine(proc, pid.ToString(CultureInfo.InvariantCulture), "fd", fd.ToString(CultureInfo.InvariantCulture));
                File.CreateSymbolicLink(path, fd % 2 == 0 ? database : database + "-wal");
                if (fd == 3 + p)
                {
                    WriteFdInfo(proc, pid, fd, ReadWrite);
                }
            }
        }

        var scan = WriterDetector.Find(database, proc, selfPid: -1);

        Assert.Equal(Enumerable.Range(0, Processes).Select(p => (4000 + p, $"app{p}")).ToHashSet(), scan.Writers.ToHashSet());
    }

    [Fact]
    public void Readers_and_other_files_are_not_writers_and_the_database_counts_even_once_deleted()
    {
        var database = _temp.Combine("app.sqlite");
        var proc = _temp.Combine("proc");
        AddProcess(proc, 100, "reader", (3, database, ReadOnly), (4, database + "-wal", ReadOnly));
        AddProcess(proc, 200, "other", (3, _temp.Combine("other.sqlite"), ReadWrite));
        AddProcess(proc, 300, "orphaned", (5, database + " (deleted)", ReadWrite));

        var scan = WriterDetector.Find(database, proc, selfPid: -1);

        Assert.Equal([(300, "orphaned")], scan.Writers);
        Assert.Equal(0, scan.Uninspectable);
    }

    [Fact]
    public void A_writer_that_opened_the_database_by_another_name_is_found_by_device_and_inode()
    {
        var database = _temp.Combine("app.sqlite");
        var other = _temp.Combine("other.sqlite");
        File.WriteAllText(database, "");
        File.WriteAllText(other, "");
        Directory.CreateDirectory(_temp.Combine("mounted"));
        var link = _temp.Combine("mounted", "app.sqlite");
        Assert.Equal(0, UnixFiles.Link(database, link));
        var proc = _temp.Combine("proc");
        AddProcess(proc, 100, "app", (3, link, ReadWrite));
        AddProcess(proc, 200, "reader", (3, link, ReadOnly));
        AddProcess(proc, 300, "other", (3, other, ReadWrite), (4, "pipe:[1234]", ReadWrite));

        var scan = WriterDetector.Find(database, proc, selfPid: -1);

        Assert.Equal([(100, "app")], scan.Writers);
    }

    [Fact]
    public async Task Processes_whose_descriptors_cannot_be_read_are_counted()
    {
        // Root reads every process's descriptors: the case needs an unprivileged user.
        if (await Unprivileged.RanTestAsNobodyAsync(typeof(WriterDetectorTests)))
        {
            return;
        }

        var database = _temp.Combine("app.sqlite");
        var proc = _temp.Combine("proc");
        AddProcess(proc, 100, "hidden", (3, database, ReadWrite));
        File.SetUnixFileMode(Path.Combine(proc, "100", "fd"), UnixFileMode.None);

        var scan = WriterDetector.Find(database, proc, selfPid: -1);

        Assert.Empty(scan.Writers);
        Assert.Equal(1, scan.Uninspectable);
    }

    public void Dispose() => _temp.Dispose();

    private static void AddProcess(string proc, int pid, string name, params (int Fd, string Target, int Flags)[] files)
    {
        var dir = Path.Combine(proc, pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(Path.Combine(dir, "fd"));
        Directory.CreateDirectory(Path.Combine(dir, "fdinfo"));
        File.WriteAllText(Path.Combine(dir, "comm"), name + "\n");
        foreach (var (fd, target, flags) in files)
        {
            File.CreateSymbolicLink(Path.Combine(dir, "fd", fd.ToString(CultureInfo.InvariantCulture)), target);
            WriteFdInfo(proc, pid, fd, flags);
        }
    }

    private static void WriteFdInfo(string proc, int pid, int fd, int flags) =>
        File.WriteAllText(
            Path.Combine(proc, pid.ToString(CultureInfo.InvariantCulture), "fdinfo", fd.ToString(CultureInfo.InvariantCulture)),
            $"pos:\t0\nflags:\t0{Convert.ToString(flags, 8)}\nmnt_id:\t29\n");
}
