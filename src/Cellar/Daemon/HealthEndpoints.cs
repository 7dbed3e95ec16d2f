using Cellar.Core;
using Cellar.Core.Configuration;
using Cellar.Core.IO;
using Cellar.Core.Snapshots;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Cellar.Daemon;

/// <summary><c>GET /healthz</c> (the process answers) and <c>GET /readyz</c> (databases readable, backup folders writable); no token.</summary>
internal static class HealthEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Ok(new HealthAnswer(true, [])));
        app.MapGet("/readyz", (CellarConfig config) =>
        {
            var problems = Problems(config).ToList();
            return problems.Count == 0 ? Results.Ok(new HealthAnswer(true, [])) : Results.Json(new HealthAnswer(false, problems), DaemonJson.Default.HealthAnswer, statusCode: 503);
        });
    }

    private static IEnumerable<string> Problems(CellarConfig config)
    {
        foreach (var database in config.Databases)
        {
            string? problem = null;
            try
            {
                SqliteFiles.RequireDatabase(database.Path, "database");
            }
            catch (CellarException e)
            {
                problem = e.Message;
            }

            if (problem is not null)
            {
                yield return problem;
            }
        }

        foreach (var folder in config.Jobs.Select(j => j.Folder).Distinct())
        {
            string? problem = null;
            try
            {
                SecureFiles.EnsureFolder(folder);
                using var probe = TempFile.For(folder, "ready-probe");
                File.WriteAllBytes(probe.Path, []);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"backup folder {folder} is not writable: {e.Message}";
            }

            if (problem is not null)
            {
                yield return problem;
            }
        }
    }
}

/// <summary>The body of /healthz and /readyz.</summary>
internal sealed record HealthAnswer(bool Ok, IReadOnlyList<string> Problems);
