#!/usr/bin/env bash
# The CI proof against timing flakes: runs `bash .ci/run` N times in a row (default 5)
# while stress-ng keeps every core busy, and prints one line per run and the total time.
# Usage: bash scripts/ci-under-load.sh [runs]   (installs stress-ng from apt when missing)
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
command -v stress-ng >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stress-ng; }
mkdir -p .ci/out
stress-ng --cpu "$(nproc)" --timeout 0 --quiet &
burner=$!
trap 'kill $burner 2>/dev/null' EXIT
started=$SECONDS
failed=0
for i in $(seq 1 "$runs"); do
  run_started=$SECONDS
  if bash .ci/run >".ci/out/loaded-run-$i.log" 2>&1; then verdict=green; else verdict=RED; failed=$((failed + 1)); fi
  echo "run $i/$runs: $verdict in $((SECONDS - run_started)) s; $(grep -E '^(tests|faults):' ".ci/out/loaded-run-$i.log" | tr '\n' ' ')"
done
echo "under load ($(nproc) cores busy): $((runs - failed))/$runs green in $((SECONDS - started)) s"
[ "$failed" -eq 0 ]
