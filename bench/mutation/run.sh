#!/usr/bin/env bash
# Mutation testing of Cellar.Core with dotnet-stryker (pinned in .config/dotnet-tools.json): Stryker changes the
# code one small thing at a time (a condition negated, a statement removed, a constant changed) and runs the
# tests against each change; a change no test notices "survives", and shows a promise no test holds. Far too slow
# for every CI run (minutes to hours per area on 2 cores), so it runs here, by hand. How to read the results, and
# the last scores: docs/mutation-testing.md.
#
# Usage: bench/mutation/run.sh [AREA...]   areas: Snapshots Verification Publish Restore Retention Offsite ObjectStores
#        StreamOffsite Streams
#        (default: all of them). TESTS='FullyQualifiedName~X' overrides an area's test filter.
#        CRITICAL=1 mutates only the statements that fsync, rename, compare, check or delete, and the conditions that
#        guard them (bench/mutation/critical-spans.py picks them): the issue's target, in a fraction of the time.
# Reports: bench/mutation/out/AREA/reports/mutation-report.html and .json (git-ignored).
set -euo pipefail
set -f # the globs below are Stryker's, not the shell's
shopt -s globstar # ** in an area's globs, when CRITICAL=1 lets the shell expand them
cd "$(dirname "$0")/../.."
root=$(pwd)

# What each area mutates (globs over Cellar.Core's files) ...
declare -A mutate=(
  [Snapshots]="**/Cellar.Core/Snapshots/*.cs **/Cellar.Core/Sqlite/SqliteFiles.cs **/Cellar.Core/Sqlite/Inspection.cs"
  [Verification]="**/Cellar.Core/Verification/*.cs **/Cellar.Core/Artifacts/StoredProof.cs **/Cellar.Core/Logs/LogArchiveKind.cs **/Cellar.Core/Snapshots/SnapshotKind.cs **/Cellar.Core/Dumps/DumpKind.cs **/Cellar.Core/Dumps/DumpLoad.cs"
  [Publish]="**/Cellar.Core/Artifacts/ArtifactWriter.cs **/Cellar.Core/Catalog/Sidecar.cs **/Cellar.Core/IO/TempFile.cs **/Cellar.Core/IO/Fsync.cs **/Cellar.Core/IO/DurableJson.cs"
  [Restore]="**/Cellar.Core/Restore/*.cs **/Cellar.Core/Sqlite/WriterDetector.cs"
  [Retention]="**/Cellar.Core/Retention/*.cs"
  [Offsite]="**/Cellar.Core/Offsite/Offsite*.cs **/Cellar.Core/Offsite/Remote[BL]*.cs **/Cellar.Core/Offsite/RemoteS[ei]*.cs **/Cellar.Core/Offsite/LegacySeal.cs"
  [ObjectStores]="**/Cellar.Core/Storage/**/*.cs"
  [StreamOffsite]="**/Cellar.Core/Offsite/Stream*.cs **/Cellar.Core/Offsite/RemoteStream.cs"
  [Streams]="**/Cellar.Core/IO/*Stream.cs **/Cellar.Core/Compression/*.cs"
)
# ... and the tests run against every mutant of it. Coverage analysis is off (stryker-config.json): most tests run
# the real CLI as a child process, whose coverage Stryker cannot see, so each mutant runs every test of its area.
# Left out: the test that reruns itself as nobody through xunit's own command line, which an MTP build lacks.
# The offsite code is three areas, each with the tests that reach it, because one area running all 170 offsite tests
# against each of its 83 critical mutants did not finish in two hours: the copies of backups (Offsite), the object
# stores and encryption under them (ObjectStores), and the copies of stream jobs (StreamOffsite). Offsite leaves out
# its two slowest tests (43 s and 20 s: each would set the pace of every mutant); the multipart and hold paths they
# cover are also run by the lying-server and retention tests.
# Snapshots and Publish run the crash-point tests (a kill at each named step: snapshot copied, before the rename,
# after the sidecar), not the random-kill test: its kills rarely land inside a given window, and its two minutes
# would double every mutant.
declare -A tests=(
  [Snapshots]="FullyQualifiedName~Cellar.Tests.Snapshots.|FullyQualifiedName~Cellar.Tests.Jobs.|FullyQualifiedName~Cellar.Tests.Cli.CrashPointTests|FullyQualifiedName~Cellar.Tests.Cli.DamagedDatabaseTests|FullyQualifiedName~Cellar.Tests.Cli.BadInputTests|FullyQualifiedName~Cellar.Tests.Cli.CorruptionTests|FullyQualifiedName~Cellar.Tests.Cli.RestoreVerifiedCopyTests"
  [Verification]="FullyQualifiedName~Verif|FullyQualifiedName~Cellar.Tests.Cli.CorruptionTests|FullyQualifiedName~Cellar.Tests.Cli.ArtifactKindTests"
  [Publish]="FullyQualifiedName~Cellar.Tests.Artifacts.|FullyQualifiedName~Cellar.Tests.Cli.CrashPointTests|FullyQualifiedName~Cellar.Tests.IO.FsyncFaultTests|FullyQualifiedName~Cellar.Tests.Cli.FsyncInjectionTests|FullyQualifiedName~Cellar.Tests.Cli.BadInputTests"
  [Restore]="(FullyQualifiedName~Cellar.Tests.Restore.|FullyQualifiedName~Cellar.Tests.Cli.Restore|FullyQualifiedName~Cellar.Tests.Cli.TableRestore|FullyQualifiedName~Cellar.Tests.Cli.TableDumpTests|FullyQualifiedName~Cellar.Tests.Cli.CrashPointTests.A_restore|FullyQualifiedName~Cellar.Tests.IO.FsyncFaultTests|FullyQualifiedName~Cellar.Tests.Sqlite.)&FullyQualifiedName!~Processes_whose_descriptors_cannot_be_read"
  [Retention]="FullyQualifiedName~Cellar.Tests.Retention."
  [Offsite]="FullyQualifiedName~Cellar.Tests.Offsite.&FullyQualifiedName!~Local_retention_keeps_a_backup_until_its_offsite_copy_is_confirmed&FullyQualifiedName!~A_200_MB_database_goes_up_multipart"
  [ObjectStores]="FullyQualifiedName~Cellar.Tests.Storage.|FullyQualifiedName~Cellar.Tests.Offsite.OffsiteLyingServerTests|FullyQualifiedName~Cellar.Tests.Offsite.OffsiteTests.A_wrong_key"
  [StreamOffsite]="FullyQualifiedName~Cellar.Tests.Replication.StreamOffsiteTests"
  [Streams]="FullyQualifiedName~Cellar.Tests.Storage.EncryptionTests|FullyQualifiedName~Cellar.Tests.Snapshots.|FullyQualifiedName~Cellar.Tests.IO.|FullyQualifiedName~Cellar.Tests.Dumps.|FullyQualifiedName~Cellar.Tests.Compression.|FullyQualifiedName~Cellar.Tests.Jobs.StoredFileProofTests"
)

areas=("$@")
[ "${#areas[@]}" -gt 0 ] || areas=(Snapshots Verification Publish Restore Retention Offsite ObjectStores StreamOffsite Streams)
for area in "${areas[@]}"; do
  if [ -z "${mutate[$area]:-}" ]; then
    echo "run.sh: unknown area '$area' (one of: ${!mutate[*]})" >&2
    exit 2
  fi
done

dotnet tool restore >/dev/null
status=0
for area in "${areas[@]}"; do
  args=()
  for glob in ${mutate[$area]}; do
    if [ -n "${CRITICAL:-}" ]; then
      # The glob's files, as the shell sees them from the repository root; each gives one pattern with its spans.
      set +f
      files=(src/Cellar.Core/${glob#\*\*/Cellar.Core/})
      set -f
      while IFS= read -r pattern; do
        args+=(--mutate "$pattern")
      done < <(python3 bench/mutation/critical-spans.py "${files[@]}")
    else
      args+=(--mutate "$glob")
    fi
  done
  out="$root/bench/mutation/out/$area${CRITICAL:+-critical}"
  rm -rf "$out"
  echo "== $area: ${mutate[$area]}" >&2
  # Stryker finds the project to mutate among the references of the test project it is started in. xunit v3 runs
  # a test assembly as a process of its own, out of reach of Stryker's VSTest data collector, so the assembly is
  # built as a Microsoft Testing Platform program and Stryker drives it directly: it names the active mutant in a
  # file whose path is in the environment, which the cellar processes the tests start inherit too.
  (cd tests/Cellar.Tests && UseMicrosoftTestingPlatformRunner=true dotnet stryker --test-runner mtp \
    --config-file "$root/bench/mutation/stryker-config.json" "${args[@]}" \
    --test-case-filter "${TESTS:-${tests[$area]}}" --output "$out") || status=$?
done

# Stryker leaves its mutated Cellar.Core.dll in the tests' build output: rebuild, so the next `dotnet test` runs the real code.
dotnet build tests/Cellar.Tests -nologo -v q >/dev/null
exit "$status"
