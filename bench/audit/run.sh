#!/usr/bin/env bash
# Benchmarks the code auditor (`fmr-audit`, every rule) on a large generated Python ML project.
# The project is written to a temporary directory and deleted afterwards; nothing is committed.
#
# usage: bench/audit/run.sh [LINES] [RUNS]
#   LINES  approximate size of the generated project (default 110000)
#   RUNS   timed runs, the best is reported (default 3)
#
# Prints files, lines, findings, the best wall time and lines/s (all threads), then a
# single-threaded breakdown: parsing, indexing, and each rule.
set -euo pipefail
cd "$(dirname "$0")/../.."

lines="${1:-110000}"
runs="${2:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 bench/audit/gen_project.py "$work/project" "$lines"
cargo run --release --quiet -p fmr-audit --example bench -- "$work/project" "$runs" --per-rule
