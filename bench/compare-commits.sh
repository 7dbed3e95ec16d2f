#!/usr/bin/env bash
# Did a change make Cellar slower? Builds the CLI of another commit (default: the commit before this checkout's
# HEAD) and this checkout's, both in Release, then times `cellar run daily`, `cellar run social` and `cellar list`
# of each on the same demo database, the two builds alternating run by run so a machine that speeds up or slows
# down over the minutes charges both alike. Prints the median and the fastest run of each, in seconds.
#
# Usage: bench/compare-commits.sh [BASE-COMMIT] [ROUNDS]   (defaults: HEAD~1, 12)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
base=${1:-HEAD~1}
rounds=${2:-12}
base_sha=$(git rev-parse --verify "$base^{commit}")

work=$(mktemp -d /var/tmp/cellar-compare-XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM HUP

git clone -q "$repo" "$work/base"
git -C "$work/base" checkout -q "$base_sha"
for tree in "$work/base" "$repo"; do
  echo "building $tree (Release)" >&2
  dotnet build -c Release -nologo -v q "$tree/src/Cellar" >/dev/null
done
base_dll=$work/base/src/Cellar/bin/Release/net10.0/cellar.dll
head_dll=$repo/src/Cellar/bin/Release/net10.0/cellar.dll

# The demo's database and config (made by this checkout's CLI), shared by both builds.
dotnet "$head_dll" demo "$work/demo" >/dev/null 2>&1
config=$work/demo/cellar.json

timed() { # timed LABEL COMMAND... : prints "LABEL SECONDS"
  local label=$1 start end
  shift
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo "compare-commits: '$label' failed" >&2; exit 1; }
  end=$(date +%s%N)
  echo "$label $(( (end - start) / 1000000 ))"
}

for _ in $(seq "$rounds"); do
  for side in base head; do
    dll=$base_dll
    [ "$side" = head ] && dll=$head_dll
    for job in daily social; do
      rm -rf "$work/demo/backups/daily" "$work/demo/backups/social"
      sync
      timed "$side run-$job" dotnet "$dll" --config "$config" run "$job"
    done
    timed "$side list" dotnet "$dll" --config "$config" list
  done
done > "$work/times"

echo "base $(git rev-parse --short "$base_sha") vs head $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' (with uncommitted changes)'), $rounds rounds:"
sort -k2,2 -k1,1 "$work/times" | awk '
  { key = $2 " " $1; n[key]++; t[key, n[key]] = $3 }
  END {
    for (key in n) {
      # the samples of one key are few: a simple insertion sort, then the median
      m = n[key]
      for (i = 2; i <= m; i++) { v = t[key, i]; for (j = i - 1; j >= 1 && t[key, j] > v; j--) t[key, j + 1] = t[key, j]; t[key, j + 1] = v }
      median = (m % 2) ? t[key, (m + 1) / 2] : (t[key, m / 2] + t[key, m / 2 + 1]) / 2
      printf "  %-12s %-4s median %.3f s, fastest %.3f s\n", substr(key, 1, index(key, " ") - 1), substr(key, index(key, " ") + 1), median / 1000, t[key, 1] / 1000
    }
  }' | sort
