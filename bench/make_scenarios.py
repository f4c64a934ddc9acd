#!/usr/bin/env python3
"""Regenerates the logs of the benchmark scenarios under bench/scenarios/.

Each scenario is a small training program with one realistic bug. This script
makes a virtualenv (bench/.venv), installs the frameworks the programs import,
runs every `train.py` on the CPU with a time limit, and stores what the run
wrote in the scenario's `logs/` folder: the files the program wrote there
itself, plus its console output (stdout and stderr) as `logs/train.log`
when it printed anything.

    python3 bench/make_scenarios.py                 # install, run all, check
    python3 bench/make_scenarios.py gan-mode-collapse vq-codebook-collapse
    python3 bench/make_scenarios.py --check         # only validate the folders

CI does not run this script: it runs fmr over the committed logs. Seeds are
fixed in every program; single-threaded math (set below) keeps the numbers
close to the committed ones, though not bit-identical across library versions.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import tomllib
import venv
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SCENARIOS_DIR = BENCH_DIR / "scenarios"
VENV_DIR = BENCH_DIR / ".venv"
KB_ENTRIES_DIR = BENCH_DIR.parent / "kb" / "entries"

# The versions the committed logs were produced with. Plain package names:
# pip resolves them from whatever index the machine is configured for.
REQUIREMENTS = [
    "torch==2.15.0",
    "numpy==2.4.6",
    "scikit-learn==1.9.1",
    "gymnasium==1.4.0",
    "jax==0.10.2",
    "jaxlib==0.10.2",
    "optax==0.2.8",
    "tensorboard==2.21.0",
]

# Two cores are shared with other work; one thread per run also makes the
# floating-point reduction order, and so the logged numbers, repeatable.
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "JAX_PLATFORMS": "cpu",
    "CUDA_VISIBLE_DEVICES": "",
    "PYTHONHASHSEED": "0",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}

MAX_LOGS_BYTES = 1_000_000
CPU_BUDGET_S = 60.0
TRUTH_FIELDS = ("family", "root_cause", "fix", "bug_file", "bug_line", "bug_code", "accept")

# Paths of this machine that tracebacks and warnings print; replaced so the
# committed logs say where a practitioner's files would be instead.
NEUTRAL_VENV = "/home/user/venv"
NEUTRAL_PROJECT = "/home/user/project"


def venv_python() -> Path:
    return VENV_DIR / "bin" / "python"


def ensure_venv() -> None:
    if not venv_python().exists():
        print(f"creating {VENV_DIR.relative_to(BENCH_DIR.parent)}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV_DIR)
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + REQUIREMENTS, check=True)


def scenario_dirs(only: list[str]) -> list[Path]:
    dirs = sorted(p for p in SCENARIOS_DIR.iterdir() if (p / "train.py").is_file())
    if only:
        unknown = set(only) - {p.name for p in dirs}
        if unknown:
            sys.exit(f"no such scenario: {', '.join(sorted(unknown))}")
        dirs = [p for p in dirs if p.name in only]
    return dirs


def neutralise_paths(text: str, scenario: Path) -> str:
    text = text.replace(str(VENV_DIR), NEUTRAL_VENV)
    text = text.replace(str(scenario), NEUTRAL_PROJECT)
    return text


def rename_event_files(logs: Path) -> None:
    """TensorBoard names event files after the host and process id; give them
    names that do not depend on the machine that ran them."""
    for index, path in enumerate(sorted(logs.rglob("events.out.tfevents.*"))):
        stamp = path.name.split(".")[3]
        path.rename(path.with_name(f"events.out.tfevents.{stamp}.trainer.{index}"))


def run_scenario(scenario: Path, timeout_s: float) -> dict:
    logs = scenario / "logs"
    if logs.exists():
        shutil.rmtree(logs)
    logs.mkdir()
    env = {**os.environ, **SINGLE_THREAD_ENV}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    try:
        done = subprocess.run(
            [str(venv_python()), "train.py"],
            cwd=scenario,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
        )
        returncode, output = done.returncode, done.stdout
    except subprocess.TimeoutExpired as expired:
        returncode, output = "timeout", expired.stdout or b""
    wall_s = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    console = neutralise_paths(output.decode("utf-8", "replace"), scenario)
    if console.strip():
        (logs / "train.log").write_text(console)
    rename_event_files(logs)
    return {"returncode": returncode, "cpu_s": cpu_s, "wall_s": wall_s}


def logs_size(scenario: Path) -> int:
    return sum(p.stat().st_size for p in (scenario / "logs").rglob("*") if p.is_file())


def check_scenario(scenario: Path) -> list[str]:
    """Problems with one scenario folder; empty when it is complete."""
    problems = []
    for name in ("train.py", "symptom.txt", "truth.toml"):
        if not (scenario / name).is_file():
            problems.append(f"missing {name}")
    if problems:
        return problems
    if not (scenario / "symptom.txt").read_text().strip():
        problems.append("symptom.txt is empty")
    try:
        truth = tomllib.loads((scenario / "truth.toml").read_text())
    except tomllib.TOMLDecodeError as error:
        return [f"truth.toml: {error}"]
    missing = [field for field in TRUTH_FIELDS if field not in truth]
    if missing:
        return [f"truth.toml lacks {', '.join(missing)}"]
    if not list(KB_ENTRIES_DIR.glob(f"{truth['family']}-*.toml")):
        problems.append(f"family {truth['family']} is not a kb entry")
    try:
        re.compile(truth["accept"], re.IGNORECASE)
    except re.error as error:
        problems.append(f"accept is not a regex: {error}")
    bug_file = scenario / truth["bug_file"]
    if not bug_file.is_file():
        problems.append(f"bug_file {truth['bug_file']} does not exist")
    else:
        lines = bug_file.read_text().splitlines()
        line = truth["bug_line"]
        if not 1 <= line <= len(lines) or truth["bug_code"] not in lines[line - 1]:
            problems.append(f"{truth['bug_file']}:{line} does not hold {truth['bug_code']!r}")
    logs = scenario / "logs"
    if not logs.is_dir() or not any(p.is_file() for p in logs.rglob("*")):
        problems.append("logs/ is empty: run this script without --check")
    elif logs_size(scenario) > MAX_LOGS_BYTES:
        problems.append(f"logs/ holds {logs_size(scenario)} bytes (limit {MAX_LOGS_BYTES})")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help="ids to run (default: all)")
    parser.add_argument("--check", action="store_true", help="validate the folders, run nothing")
    parser.add_argument("--skip-install", action="store_true", help="use bench/.venv as it is")
    parser.add_argument("--timeout", type=float, default=180.0, help="wall-clock limit per run (s)")
    args = parser.parse_args()

    scenarios = scenario_dirs(args.scenarios)
    failed = False
    if not args.check:
        if not args.skip_install:
            ensure_venv()
        print(f"{'scenario':34} {'exit':>7} {'cpu s':>7} {'wall s':>7} {'logs kB':>8}")
        for scenario in scenarios:
            result = run_scenario(scenario, args.timeout)
            print(
                f"{scenario.name:34} {result['returncode']!s:>7} {result['cpu_s']:7.1f} "
                f"{result['wall_s']:7.1f} {logs_size(scenario) / 1000:8.1f}",
                flush=True,
            )
            if result["returncode"] != 0:
                failed = True
            if result["cpu_s"] > CPU_BUDGET_S:
                print(f"  warning: over the {CPU_BUDGET_S:.0f} s CPU budget")
    for scenario in scenarios:
        for problem in check_scenario(scenario):
            failed = True
            print(f"{scenario.name}: {problem}")
    print(f"{len(scenarios)} scenarios, {'problems found' if failed else 'all complete'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
