#!/usr/bin/env bash
# The benchmark, in one command: installs pgTAP when missing, builds in release mode, runs
# benches/gate (floor, whole-process check cold and warm at every size, pgTAP, probes), and
# rewrites the measured part of bench/RESULTS.md. Extra arguments go to the bench, e.g.
#   bash bench/run.sh --sizes 10,100,1000 --runs 7 --no-pgtap --pgtap-max 5000 --no-reims --large-runs 3
# `--probes-only --runs N` measures the constraint-probe throughput on REIMS alone, N runs,
# prints it and writes nothing (for profiling). `--structural-only --runs N` does the same
# for REIMS's structural check beside pgTAP (section 4), and `--generate N DIR` writes the
# synthetic schema of N tables (migrations/ and specs/) into DIR and measures nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
if [ -n "$major" ] && ! ls /usr/share/postgresql/"$major"/extension/pgtap.control >/dev/null 2>&1; then
  echo "bench: installing postgresql-$major-pgtap" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "postgresql-$major-pgtap" >/dev/null || echo "bench: pgTAP unavailable; that part will be skipped" >&2
fi
cargo bench --locked --bench gate -- "$@"
