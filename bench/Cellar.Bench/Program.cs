using System.Diagnostics;
using System.Globalization;
using Cellar.Bench;

// Cellar's benchmark: the seed's backup pipeline, the cp floor, the compressors' own sizes and Cellar's real CLI,
// side by side in one run on generated databases, plus a busy database and the snapshot-method choice.
// Usage: dotnet run -c Release --project bench/Cellar.Bench -- [--sizes 50,1024] [--out docs/BENCHMARKS.md]
//        [--work-dir /var/tmp] [--runs N] [--writer-seconds 10] [--backup-timeout 40] [--busy-size MIB|0]
//        [--suite backups|dumps|logs|daemon|offsite|stream|history]; --help describes them.
return await BenchOptions.RunAsync(args, BenchAsync);

static async Task<int> BenchAsync(BenchOptions options)
{
    var repo = BenchOptions.FindRepoRoot();
    Console.WriteLine($"repo {repo}; sizes {string.Join(", ", options.SizesMiB)} MiB; report -> {options.OutPath}");

    // Every peer the suite runs, looked for before anything is built: a missing one should not end the run halfway.
    string[] tools = options.Suite == "logs" ? ["sqlite3", "gzip", "zstd", "cp", "sync", "/usr/sbin/logrotate"] : ["sqlite3", "gzip", "zstd", "cp", "sync"];
    foreach (var tool in tools)
    {
        try
        {
            await Proc.RunAsync(tool, ["--version"]);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"Cellar.Bench: '{tool}' is not installed (apt-get install {Path.GetFileName(tool)})");
            return 1;
        }
    }

    // The real CLI and the load writer, built in Release from this checkout.
    foreach (var project in new[] { "src/Cellar", "tests/Cellar.LoadWriter" })
    {
        Console.WriteLine($"building {project} (Release)");
        var build = await Proc.RunAsync(Proc.DotnetHost(), ["build", "-c", "Release", "-nologo", "-v", "q", project], workingDirectory: repo);
        if (!build.Ok)
        {
            Console.Error.WriteLine($"Cellar.Bench: building {project} failed:\n{build.Stdout}\n{build.Stderr}");
            return 1;
        }
    }

    var cellarDll = Path.Combine(repo, "src/Cellar/bin/Release/net10.0/cellar.dll");
    var writerDll = Path.Combine(repo, "tests/Cellar.LoadWriter/bin/Release/net10.0/Cellar.LoadWriter.dll");

    var workDir = Directory.CreateDirectory(Path.Combine(options.WorkDir, $"cellar-bench-{Environment.ProcessId}")).FullName;
    var machine = await Machine.DescribeAsync(options.WorkDir);
    var loadBefore = Machine.LoadAverage();
    var started = TimeProvider.System.GetUtcNow();
    var total = Stopwatch.StartNew();
    Console.WriteLine($"load average before: {loadBefore}");

    // The suites other than backups each measure into one section of the report, spliced in place of the old one.
    switch (options.Suite)
    {
        case "stream":
            // Against Litestream's static binary, Cellar's as shipped: the native AOT one (no JIT at start or in its CPU).
            return await SectionAsync("stream", "stream", async () =>
                await PublishNativeAsync() is { } cellar
                    ? StreamReport.ToMarkdown(await new StreamBench(repo, [cellar], writerDll, options.Runs ?? 3).RunAsync(workDir), options, machine, started)
                    : null);
        case "history":
            return await SectionAsync("stream-history", "stream history", async () =>
            {
                if (await PublishNativeAsync() is not { } native)
                {
                    return null;
                }

                var litestream = await StreamBench.InstallLitestreamAsync(workDir);
                // An hour is 5 s: a day of history in two minutes. --sizes: the storage database, then the restore one.
                var history = new HistoryBench(new StreamBench(repo, [native], writerDll, 1), [native], secondsPerHour: 5);
                return HistoryReport.ToMarkdown(await history.RunAsync(workDir, litestream, options.SizesMiB[0], options.SizesMiB[^1]), options, machine, started);
            });
        case "offsite":
            return await SectionAsync("offsite", "offsite", async () =>
                OffsiteResult.ToMarkdown(await new OffsiteBench(repo, cellarDll, options.Runs).RunAsync(workDir, options.SizesMiB), options, machine, started));
        case "daemon":
            return await SectionAsync("daemon", "daemon", async () =>
            {
                if (await PublishNativeAsync() is not { } native)
                {
                    return null;
                }

                DaemonResult[] results =
                [
                    await new DaemonBench("native AOT", [native]).RunAsync(workDir, options.SizesMiB.Max(), TimeSpan.FromSeconds(60)),
                    await new DaemonBench("JIT (dotnet cellar.dll)", [Proc.DotnetHost(), cellarDll]).RunAsync(workDir, options.SizesMiB.Max(), TimeSpan.FromSeconds(60)),
                ];
                return DaemonResult.ToMarkdown(results, options, machine, started);
            });
        case "logs":
            return await SectionAsync("log-rotation", "log-rotation", async () =>
                LogReport.ToMarkdown(options, machine, started, await new LogBench(cellarDll, writerDll).RunAsync(workDir, options.SizesMiB)));
        case "dumps":
            return await SectionAsync("table-dumps", "table-dump", async () =>
            {
                if (await PublishNativeAsync() is not { } native)
                {
                    return null;
                }

                var dumpBench = new DumpBench(options, [native]);
                var dumps = new List<DumpResult>();
                foreach (var mib in options.SizesMiB)
                {
                    dumps.Add(await dumpBench.RunSizeAsync(workDir, mib));
                }

                return DumpReport.ToMarkdown(options, machine, started, loadBefore, Machine.LoadAverage(), dumps);
            });
    }

    var sizes = new List<SizeResult>();
    BusyResult? busy = null;
    try
    {
        // Cellar as shipped is the native AOT binary; the JIT build is measured beside it.
        if (await PublishNativeAsync() is not { } native)
        {
            return 1;
        }

        var bench = new Bench(options, [native], [Proc.DotnetHost(), cellarDll], writerDll);
        var busySize = options.BusySizeMiB ?? options.SizesMiB.Max();
        foreach (var mib in options.SizesMiB)
        {
            var (size, busyResult) = await bench.RunSizeAsync(workDir, mib, busy: mib == busySize && busy is null);
            sizes.Add(size);
            busy ??= busyResult;
        }
    }
    finally
    {
        Directory.Delete(workDir, recursive: true);
    }

    total.Stop();
    var loadAfter = Machine.LoadAverage();
    Console.WriteLine($"load average after: {loadAfter}");

    var report = new Report(machine, options, started, total.Elapsed, loadBefore, loadAfter, Bench.MaxLoad, sizes, busy).ToMarkdown();
    await ReportFile.WriteKeepingAsync(options.OutPath, report);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {options.OutPath} after {total.Elapsed.TotalMinutes:0.0} min"));
    return 0;

    // Runs one suite in the work folder (deleted afterwards, whatever happens), then splices its markdown into the
    // report; a suite that cannot run returns null, after saying why.
    async Task<int> SectionAsync(string section, string title, Func<Task<string?>> measure)
    {
        string? markdown;
        try
        {
            markdown = await measure();
        }
        finally
        {
            Directory.Delete(workDir, recursive: true);
        }

        if (markdown is null)
        {
            return 1;
        }

        await ReportFile.SpliceAsync(options.OutPath, section, markdown);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"updated the {title} section of {options.OutPath} after {total.Elapsed.TotalMinutes:0.0} min"));
        return 0;
    }

    // Publishes src/Cellar as the native AOT binary that `dotnet publish` and the Docker image ship; returns its path,
    // or null after saying why it could not.
    async Task<string?> PublishNativeAsync()
    {
        var native = Path.Combine(workDir, "native");
        Console.WriteLine("publishing src/Cellar as a native AOT binary");
        var publish = await Proc.RunAsync(Proc.DotnetHost(), ["publish", "-c", "Release", "-r", "linux-x64", "-nologo", "-v", "q", "-o", native, "src/Cellar"], workingDirectory: repo);
        if (!publish.Ok)
        {
            Console.Error.WriteLine($"Cellar.Bench: publishing src/Cellar failed:\n{publish.Stdout}\n{publish.Stderr}");
            return null;
        }

        return Path.Combine(native, "cellar");
    }
}
