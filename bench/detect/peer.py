"""The Python peer of fmr's detectors, for bench/detect/run.sh.

Reads the raw series file that `detect_bench write` produced (format in
crates/fmr-detect/examples/detect_bench.rs) and, on every series, does the work a
practitioner would put together from the usual libraries to find the same symptoms:

- numpy: the non-finite scan (count, first bad index);
- pandas: spikes as points more than 6 robust sigmas above the rolling median of their
  21 neighbours (sigma from the rolling median absolute deviation over 105 points);
- numpy: 200 block medians, smoothed by a rolling median of 5 (the curve's shape);
- ruptures: PELT change points on the block medians (normal cost: mean and variance,
  BIC-like penalty), as fmr dates onsets;
- numpy: the Mann-Kendall trend statistic and the autocorrelation of the detrended blocks
  (plateaus, divergence, oscillation).

fmr runs 22 detectors, each only on the series of its roles, with more checks than these;
the peer runs all of the above on every series. Prints one JSON line like detect_bench:
points, series, findings, bytes, load and detect seconds, and the CPU seconds of the
detection (process time: numpy may use more than one thread).
"""

import json
import math
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
import ruptures as rpt

MAGIC = b"fmr-series 1\n"
BLOCKS = 200
SPIKE_HALF_WINDOW = 10
SPIKE_SIGMAS = 6.0


def read(path):
    with open(path, "rb") as f:
        if f.readline() != MAGIC:
            raise SystemExit(f"{path}: not a raw series file")
        header = json.loads(f.readline())
        offset = f.tell()
    n = header["points"]
    steps = np.fromfile(path, dtype="<i8", count=n, offset=offset)
    values = np.fromfile(path, dtype="<f8", offset=offset + 8 * n).reshape(len(header["series"]), n)
    return header, steps, values


def block_medians(values):
    usable = len(values) // BLOCKS * BLOCKS
    if usable == 0:
        return values.copy()
    return np.median(values[:usable].reshape(BLOCKS, -1), axis=1)


def analyse(values):
    finite = np.isfinite(values)
    non_finite = int(len(values) - finite.sum())
    first_bad = int(np.argmin(finite)) if non_finite else -1
    v = values[finite]
    found = {"non_finite": non_finite, "first_bad": first_bad}
    if len(v) < 50:
        return found

    series = pd.Series(v)
    window = 2 * SPIKE_HALF_WINDOW + 1
    level = series.rolling(window, center=True).median()
    residual = series - level
    sigma = 1.4826 * residual.abs().rolling(5 * window, center=True, min_periods=window).median()
    found["spikes"] = int((residual > SPIKE_SIGMAS * sigma).sum())

    blocks = block_medians(v)
    smooth = pd.Series(blocks).rolling(5, center=True, min_periods=1).median().to_numpy()
    penalty = 3.0 * math.log(len(blocks))
    try:
        found["change_points"] = rpt.Pelt(model="normal", min_size=3).fit(blocks).predict(pen=penalty)[:-1]
    except Exception:  # a constant curve has no variance to model
        found["change_points"] = []

    signs = np.sign(blocks[None, :] - blocks[:, None])
    found["mann_kendall_s"] = float(np.triu(signs, 1).sum())

    x = np.arange(len(smooth), dtype=float)
    detrended = smooth - np.polyval(np.polyfit(x, smooth, 1), x)
    centred = detrended - detrended.mean()
    spectrum = np.fft.rfft(centred, 2 * len(centred))
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[: len(centred)]
    found["max_autocorrelation"] = float(acf[2:].max() / acf[0]) if acf[0] > 0 else 0.0
    return found


def main():
    path = sys.argv[1]
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    started = time.perf_counter()
    header, _steps, values = read(path)
    load_seconds = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    findings = [analyse(row) for row in values]
    detect_seconds = time.perf_counter() - started
    detect_cpu_seconds = time.process_time() - cpu_started
    flagged = sum(1 for f in findings if f["non_finite"] or f.get("spikes") or f.get("change_points"))
    print(
        json.dumps(
            {
                "points": int(values.size),
                "series": len(header["series"]),
                "symptoms": flagged,
                "bytes": os.path.getsize(path),
                "load_seconds": load_seconds,
                "detect_seconds": detect_seconds,
                "detect_cpu_seconds": detect_cpu_seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
