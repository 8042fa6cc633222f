"""Print how long `mlops-ci --help` takes, beside `python -c pass` and `dvc --version`.

`mlops-ci --help` must stay instant: the CLI imports dvc, pandas and scikit-learn only inside
the commands that need them. Run with `make bench` (or `python benchmarks/startup.py`).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RUNS = 7

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "mlops-ci --help": [sys.executable, "-m", "mlops_ci", "--help"],
    "mlops-ci --version": [sys.executable, "-m", "mlops_ci", "--version"],
    "dvc --version": [sys.executable, "-m", "dvc", "--version"],
}


def timings(cmd: list[str]) -> list[float]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "true"}
    subprocess.run(cmd, capture_output=True, check=True, env=env)  # warm the bytecode cache
    seconds = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env=env)
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    print(f"{'command':<20} {'median':>8} {'min':>8}   ({RUNS} runs each, wall clock)")
    for name, cmd in COMMANDS.items():
        seconds = timings(cmd)
        print(f"{name:<20} {statistics.median(seconds):>7.3f}s {min(seconds):>7.3f}s")


if __name__ == "__main__":
    main()
