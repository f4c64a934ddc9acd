"""Reads a metrics CSV with Python's standard library (csv + float) into
per-column lists, the plain-Python baseline for the CSV row of the table."""

import csv
import json
import sys
import time


def main() -> None:
    started = time.perf_counter()
    points = 0
    with open(sys.argv[1], newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = [[] for _ in header]
        for row in reader:
            for column, cell in zip(columns, row):
                if cell:
                    column.append(float(cell))
                    points += 1
    print(json.dumps({"seconds": time.perf_counter() - started, "points": points}))


if __name__ == "__main__":
    main()
