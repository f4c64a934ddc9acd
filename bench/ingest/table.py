"""Prints the benchmark table from the JSON lines run.sh collected."""

import json
import sys


def rate(count: float, seconds: float) -> str:
    value = count / seconds if seconds > 0 else float("inf")
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def main() -> None:
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    header = (
        f"{'file':<28} {'reader':<28} {'wall s':>8} {'CPU s':>8} {'MB/s':>8} {'points/s':>9}"
        f" {'fmr faster (wall/CPU)':>22} {'x cat (wall)':>13}"
    )
    print(header)
    print("-" * len(header))
    for file in dict.fromkeys(r["file"] for r in rows):
        group = [r for r in rows if r["file"] == file]
        fmr = next((r for r in group if r["reader"] == "fmr"), None)
        cat = next((r for r in group if r["reader"] == "cat"), None)
        for r in group:
            mb_s = r["bytes"] / 1e6 / r["seconds"] if r["seconds"] > 0 else float("inf")
            points = rate(r["points"], r["seconds"]) if r["points"] else "-"
            speedup = ""
            if fmr and r["reader"] not in ("fmr", "cat"):
                speedup = f"{r['seconds'] / fmr['seconds']:.0f}x / {r['cpu'] / max(fmr['cpu'], 1e-3):.0f}x"
            vs_cat = f"{r['seconds'] / cat['seconds']:.1f}x" if cat else ""
            print(
                f"{file:<28} {r['reader']:<28} {r['seconds']:>8.2f} {r['cpu']:>8.2f} {mb_s:>8.1f} {points:>9}"
                f" {speedup:>22} {vs_cat:>13}"
            )


if __name__ == "__main__":
    main()
