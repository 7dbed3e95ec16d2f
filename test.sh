#!/usr/bin/env bash
# The README's test command: install what the tests need when it is missing, then run every test: the suite
# (`dotnet test`; arguments given here are passed on to it) and the native AOT smoke run (.ci/aot-smoke).
# On a machine with only the .NET SDK it installs the rest with apt-get when run as root; otherwise it names the
# packages to install and stops, because the suite without them would fail or skip. .ci/run calls this script.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET SDK is missing: install the version global.json names ($(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' global.json))" >&2
  exit 1
fi

# What the tests run besides Cellar, by command (or file), with the Debian package that brings it and why.
packages=()
need() { # need COMMAND-OR-/PATH PACKAGE
  if [[ $1 == /* ]]; then [ -e "$1" ] && return; else command -v "$1" >/dev/null 2>&1 && return; fi
  [[ " ${packages[*]} " == *" $2 "* ]] || packages+=("$2")
}
need sqlite3 sqlite3                           # backups and dumps are checked with stock sqlite3
need gzip gzip                                 # ... and expanded with the stock gunzip
need zstd zstd                                 # ... and zstd
need "/usr/lib/$(uname -m)-linux-gnu/libdeflate.so.0" libdeflate0  # gzip's fast path, as in Cellar's image
need node nodejs                               # s3rver, the S3 server the offsite tests run on loopback
need npm npm                                   # ... installed from tests/s3server/package-lock.json
need strace strace                             # injects failing fsyncs into real runs
need python3 python3                           # plays another user racing Cellar for its files
need setpriv util-linux                        # runs cellar as an unprivileged user when the tests run as root
need flock util-linux                          # holds a folder's lock from outside
need mount mount                               # tmpfs and read-only bind mounts for full and read-only disks
need chattr e2fsprogs                          # an undeletable file for retention
need /usr/share/zoneinfo/Europe/Berlin tzdata  # schedules and retention across DST
need clang clang                               # the native AOT link (.ci/aot-smoke)
need /usr/include/zlib.h zlib1g-dev            # ... which links zlib
need curl curl                                 # ... and talks to the native daemon
need chromium chromium                         # the dashboard, tested in a real browser (driven by Playwright)

if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing ${packages[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  else
    echo "test.sh: the tests need these packages (Debian names): ${packages[*]}" >&2
    echo "test.sh: install them (sudo apt-get install ${packages[*]}), or run this script as root" >&2
    exit 1
  fi
fi

# s3rver, pinned by tests/s3server/package-lock.json; each S3 test class starts its own server on a free
# 127.0.0.1 port with its own data folder, so nothing is started here.
npm ci --no-audit --no-fund --prefix tests/s3server >/dev/null

status=0
dotnet test "$@" || status=$?

# The shipped binary is native AOT; the suite runs the JIT build, so the binary gets its own smoke run.
.ci/aot-smoke || status=$?
exit "$status"
