"""Helpers for bench/detect/run.sh.

    bench.py time READER COMMAND...   run COMMAND (which prints one JSON line: points, bytes,
                                      load/detect seconds), add the whole process's wall and
                                      CPU seconds and the reader's name, print the line
    bench.py best FILE                the run with the least detection CPU time, of the JSON
                                      lines in FILE
    bench.py table FILE               the table, each reader's speed as a ratio to fmr's
"""

import json
import resource
import subprocess
import sys
import time


def timed(reader, command):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.PIPE, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    result.update(
        reader=reader,
        process_seconds=wall,
        process_cpu_seconds=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    )
    return result


def detection_cpu(row):
    cpu = row.get("detect_cpu_seconds")
    return cpu if cpu is not None else row["detect_seconds"]


def rate(count, seconds):
    value = count / seconds if seconds > 0 else float("inf")
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def table(rows):
    fmr = next((r for r in rows if r["reader"] == "fmr"), None)
    header = (
        f"{'reader':<34} {'detect s':>9} {'CPU s':>7} {'points/s':>9} {'MB/s':>7}"
        f" {'process s':>10} {'CPU s':>7} {'fmr faster (detect CPU)':>24} {'(process CPU)':>14}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        cpu = detection_cpu(r)
        ratio = process_ratio = ""
        if fmr and r is not fmr:
            ratio = f"{cpu / detection_cpu(fmr):.1f}x"
            process_ratio = f"{r['process_cpu_seconds'] / fmr['process_cpu_seconds']:.1f}x"
        print(
            f"{r['reader']:<34} {r['detect_seconds']:>9.2f} {cpu:>7.2f} {rate(r['points'], cpu):>9}"
            f" {r['bytes'] / 1e6 / cpu:>7.1f} {r['process_seconds']:>10.2f} {r['process_cpu_seconds']:>7.2f}"
            f" {ratio:>24} {process_ratio:>14}"
        )
    print()
    print("points/s and MB/s: per CPU second of detection (MB of the raw series file, 8-byte values).")


def main():
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "time" and len(sys.argv) > 3:
        print(json.dumps(timed(sys.argv[2], sys.argv[3:])))
    elif command == "best" and len(sys.argv) == 3:
        rows = [json.loads(line) for line in open(sys.argv[2]) if line.strip()]
        print(json.dumps(min(rows, key=detection_cpu)))
    elif command == "table" and len(sys.argv) == 3:
        table([json.loads(line) for line in open(sys.argv[2]) if line.strip()])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
