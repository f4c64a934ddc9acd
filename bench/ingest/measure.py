"""Runs a command and prints one JSON line: wall seconds, CPU seconds of the
command (user + system, from getrusage: robust when other work shares the
cores) and the points it reported (fmr and the Python readers print a JSON
line with "points"; cat prints nothing, and its output is discarded)."""

import json
import resource
import subprocess
import sys
import time


def main() -> None:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, check=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = done.stdout.decode(errors="replace").strip() if done.stdout[:1] == b"{" else ""
    points = json.loads(text).get("points", 0) if text else 0
    print(json.dumps({"seconds": seconds, "cpu": cpu, "points": points}))


if __name__ == "__main__":
    main()
