#!/usr/bin/env bash
# Detector benchmark: fmr's detectors beside a Python peer doing comparable work
# (numpy non-finite scan, pandas rolling median/MAD spikes, ruptures PELT change
# points on block medians, Mann-Kendall and autocorrelation: see peer.py), on the
# same generated series, in the same run.
#
#   bench/detect/run.sh              # the criterion bench's 50 series x 1M points
#   POINTS=100000 bench/detect/run.sh
#
# Settings (environment): POINTS (per series), RUNS (best of, for fmr),
# PY_RUNS (for the peer), BENCH_DIR (where the generated file goes; kept, and
# reused when present), BENCH_VENV (a virtualenv with numpy, pandas and
# ruptures; created with pip if absent, in bench/detect/.venv by default,
# which git ignores).
#
# Both readers load the same raw file (little-endian arrays, so that no parser
# weighs on either side) and time their detection alone, in wall-clock and CPU
# seconds; the table ranks by CPU seconds, which hold up when other work shares
# the cores. The whole process (start-up, imports, loading) is timed as well.
# fmr runs `detect_bench detect`, which calls `fmr_detect::detect` on each run
# as `fmr characterize` does, on one thread.
set -euo pipefail
cd "$(dirname "$0")/../.."

POINTS=${POINTS:-1000000}
RUNS=${RUNS:-3}
PY_RUNS=${PY_RUNS:-1}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/fmr-detect-bench}
BENCH_VENV=${BENCH_VENV:-bench/detect/.venv}
HERE=bench/detect

cargo build --release --quiet -p fmr-detect --example detect_bench
BIN=target/release/examples/detect_bench

if [ ! -x "$BENCH_VENV/bin/python" ]; then
  python3 -m venv "$BENCH_VENV"
fi
if ! "$BENCH_VENV/bin/python" -c "import numpy, pandas, ruptures" 2>/dev/null; then
  "$BENCH_VENV/bin/pip" install --quiet numpy pandas ruptures
fi
PY="$BENCH_VENV/bin/python"

mkdir -p "$BENCH_DIR"
SERIES_FILE="$BENCH_DIR/series.$POINTS.bin"
[ -s "$SERIES_FILE" ] || "$BIN" write "$SERIES_FILE" "$POINTS"

RESULTS="$BENCH_DIR/results.jsonl"
TRIES="$BENCH_DIR/tries.jsonl"
: > "$RESULTS"

# best_of N READER COMMAND...: N timed runs after one warm-up (the file is then
# in the page cache), the one with the least detection CPU time kept.
best_of() {
  local runs=$1 reader=$2; shift 2
  "$@" > /dev/null
  : > "$TRIES"
  for _ in $(seq "$runs"); do python3 "$HERE/bench.py" time "$reader" "$@" >> "$TRIES"; done
  python3 "$HERE/bench.py" best "$TRIES" >> "$RESULTS"
}

echo "timing 50 series x $POINTS points ..." >&2
best_of "$RUNS" "fmr" "$BIN" detect "$SERIES_FILE"
best_of "$PY_RUNS" "numpy + pandas + ruptures (peer.py)" "$PY" "$HERE/peer.py" "$SERIES_FILE"

echo
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$HERE/bench.py" table "$RESULTS"
