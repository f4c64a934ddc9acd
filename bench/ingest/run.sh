#!/usr/bin/env bash
# Ingest benchmark: fmr beside TensorBoard's own reader (Python) and `cat`,
# on a generated event file and a generated CSV, in the same run.
#
#   bench/ingest/run.sh            # 5M scalar events over 50 tags, 1M-row CSV
#   EVENTS=1000000 bench/ingest/run.sh
#
# Settings (environment): EVENTS, TAGS, CSV_ROWS, CSV_COLUMNS, RUNS (best of,
# for fmr and cat), PY_RUNS (for the Python readers, which take minutes),
# BENCH_DIR (where the generated files go; kept, and reused when present),
# BENCH_VENV (a virtualenv with `tensorboard`; created with pip if absent),
# ONLY (`events` or `csv`: time one file only; `csv` needs no virtualenv),
# BIN (an `ingest_bench` binary to time instead of building this tree's,
# e.g. a copy built from an earlier commit, for before/after figures).
#
# The generated files are not committed. Every reader is timed as a whole
# process by measure.py (wall and CPU seconds; Python's include starting the
# interpreter and importing tensorboard, a second or two of minutes).
# Timed runs come after a warm-up (for the Python readers, after fmr's and
# cat's runs), so the file is in the page cache for every reader. fmr is
# timed through `ingest_bench read`, which calls `fmr_ingest::ingest` as
# `fmr metrics` does, without printing the points.
set -euo pipefail
cd "$(dirname "$0")/../.."

EVENTS=${EVENTS:-5000000}
TAGS=${TAGS:-50}
CSV_ROWS=${CSV_ROWS:-1000000}
CSV_COLUMNS=${CSV_COLUMNS:-20}
RUNS=${RUNS:-3}
PY_RUNS=${PY_RUNS:-1}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/fmr-ingest-bench}
BENCH_VENV=${BENCH_VENV:-target/bench-venv}
HERE=bench/ingest

ONLY=${ONLY:-all}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet -p fmr-ingest --example ingest_bench
  BIN=target/release/examples/ingest_bench
fi

if [ "$ONLY" != csv ]; then
  if [ ! -x "$BENCH_VENV/bin/python" ]; then
    python3 -m venv "$BENCH_VENV"
  fi
  if ! "$BENCH_VENV/bin/python" -c "import tensorboard" 2>/dev/null; then
    "$BENCH_VENV/bin/pip" install --quiet tensorboard
  fi
fi
PY="$BENCH_VENV/bin/python"

mkdir -p "$BENCH_DIR"
EVENT_FILE="$BENCH_DIR/events.out.tfevents.$EVENTS.$TAGS"
CSV_FILE="$BENCH_DIR/metrics.$CSV_ROWS.$CSV_COLUMNS.csv"
if [ "$ONLY" != csv ]; then
  [ -s "$EVENT_FILE" ] || "$BIN" events "$EVENT_FILE" "$EVENTS" "$TAGS"
fi
if [ "$ONLY" != events ]; then
  [ -s "$CSV_FILE" ] || "$BIN" csv "$CSV_FILE" "$CSV_ROWS" "$CSV_COLUMNS"
fi

RESULTS="$BENCH_DIR/results.jsonl"
: > "$RESULTS"

# best_of N COMMAND...: N timed runs (after one warm-up when N > 1; the
# file is in the page cache by the time Python reads it), the fastest printed.
best_of() {
  local runs=$1; shift
  if [ "$runs" -gt 1 ]; then "$@" > /dev/null; fi
  for _ in $(seq "$runs"); do python3 "$HERE/measure.py" "$@"; done |
    python3 -c 'import json,sys; print(json.dumps(min((json.loads(l) for l in sys.stdin), key=lambda r: r["seconds"])))'
}

record() { # record FILE_LABEL READER BYTES JSON
  python3 -c 'import json,sys; r=json.loads(sys.argv[4]); r.update(file=sys.argv[1], reader=sys.argv[2], bytes=int(sys.argv[3])); print(json.dumps(r))' \
    "$1" "$2" "$3" "$4" >> "$RESULTS"
}

size() { stat -c %s "$1"; }

if [ "$ONLY" != csv ]; then
  label="events ($EVENTS x $TAGS tags)"
  echo "timing $label ..." >&2
  record "$label" "cat" "$(size "$EVENT_FILE")" "$(best_of "$RUNS" cat "$EVENT_FILE")"
  record "$label" "fmr" "$(size "$EVENT_FILE")" "$(best_of "$RUNS" "$BIN" read "$EVENT_FILE")"
  record "$label" "tensorboard EventAccumulator" "$(size "$EVENT_FILE")" \
    "$(best_of "$PY_RUNS" "$PY" "$HERE/tb_read.py" "$EVENT_FILE")"
fi

if [ "$ONLY" != events ]; then
  label="csv ($CSV_ROWS x $CSV_COLUMNS)"
  echo "timing $label ..." >&2
  record "$label" "cat" "$(size "$CSV_FILE")" "$(best_of "$RUNS" cat "$CSV_FILE")"
  record "$label" "fmr" "$(size "$CSV_FILE")" "$(best_of "$RUNS" "$BIN" read "$CSV_FILE")"
  record "$label" "python csv + float" "$(size "$CSV_FILE")" \
    "$(best_of "$PY_RUNS" python3 "$HERE/csv_read.py" "$CSV_FILE")"
fi

echo
echo "cores: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 "$HERE/table.py" "$RESULTS"
