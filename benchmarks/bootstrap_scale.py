"""Print rows/s and peak RSS of the streaming paired bootstrap beside scipy's BCa bootstrap.

    python benchmarks/bootstrap_scale.py                      # 1M rows, B = 1000
    python benchmarks/bootstrap_scale.py --rows 10000000

The paired bootstrap of head - base (``mlops_ci.evaluation.significance.PairedBootstrap``)
runs on synthetic rows made chunk by chunk, for a binary task (accuracy, F1: counts, one
Poisson draw per cell and replicate) and for a regression (RMSE, R²: sums, B Poisson weights
per row). ``scipy.stats.bootstrap`` (paired, BCa, the accuracy difference) needs every row in
memory and a jackknife of N resamples of N - 1 rows, so it runs at growing sizes until it
fails under the address-space limit or the time limit, and the script says where it gave up.
Every measurement runs in a child process of its own (its own peak RSS), with one BLAS thread.
Timings cover the statistics, not the making of the synthetic rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

SCIPY_SIZES = (5_000, 10_000, 20_000, 50_000, 100_000, 200_000)
SCIPY_BATCH = 100  # scipy's own memory saver: resamples and jackknife 100 at a time
MEMORY_LIMIT_GIB = 4
TIME_LIMIT_S = 300


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _chunks(task: str, rows: int, chunk_rows: int, seed: int = 0) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    for start in range(0, rows, chunk_rows):
        n = min(chunk_rows, rows - start)
        if task == "binary":
            y = rng.integers(0, 2, n)
            base = np.where(rng.random(n) < 0.80, y, 1 - y)
            head = np.where(rng.random(n) < 0.81, y, 1 - y)
        else:
            y = rng.normal(0.0, 1.0, n)
            base = y + rng.normal(0.0, 0.50, n)
            head = y + rng.normal(0.0, 0.49, n)
        yield y, base, head


def measure_streaming(task: str, rows: int, replicates: int, chunk_rows: int) -> dict[str, Any]:
    from mlops_ci.evaluation.significance import PairedBootstrap, judge

    metrics = ["accuracy", "f1"] if task == "binary" else ["rmse", "r2"]
    paired = PairedBootstrap(task, metrics, replicates=replicates, seed=0)
    baseline = _peak_rss_mib()
    seconds = 0.0
    for y, base, head in _chunks(task, rows, chunk_rows):
        start = time.perf_counter()
        paired.update(y, base, head)
        seconds += time.perf_counter() - start
    start = time.perf_counter()
    result = paired.results()[metrics[0]]
    seconds += time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "rss_before_mib": baseline,
        "difference": [result.difference.low, result.difference.high],
        "p_value": result.p_value,
        "verdict": judge(result, 0.05).significance,
    }


def measure_scipy(rows: int, replicates: int, batch: int | None) -> dict[str, Any]:
    import numpy as np
    from scipy import stats

    ((y, base, head),) = _chunks("binary", rows, rows)
    base_correct, head_correct = (base == y).astype(float), (head == y).astype(float)
    baseline = _peak_rss_mib()

    def difference(b: Any, h: Any, axis: int = -1) -> Any:
        return np.mean(h, axis=axis) - np.mean(b, axis=axis)

    start = time.perf_counter()
    result = stats.bootstrap(
        (base_correct, head_correct),
        difference,
        paired=True,
        vectorized=True,
        n_resamples=replicates,
        method="BCa",
        batch=batch,
        random_state=0,
    )
    seconds = time.perf_counter() - start
    low, high = result.confidence_interval
    return {
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "rss_before_mib": baseline,
        "difference": [float(low), float(high)],
    }


def _child(args: list[str], memory_gib: float | None) -> dict[str, Any]:
    """Run one measurement in a child Python; its JSON answer, or why it failed."""
    threads = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env = {**os.environ, **threads}

    def limit() -> None:
        if memory_gib is not None:
            size = int(memory_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", *args],
            capture_output=True,
            text=True,
            env=env,
            preexec_fn=limit,  # the limit applies to the child only
            timeout=TIME_LIMIT_S,
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"still running after {TIME_LIMIT_S} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"failed": last[:160]}
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _line(name: str, rows: int, answer: dict[str, Any]) -> str:
    if "failed" in answer:
        return f"{name:<34} {rows:>11,} rows  gave up: {answer['failed']}"
    low, high = answer["difference"]
    return (
        f"{name:<34} {rows:>11,} rows  {answer['rows_per_s']:>12,.0f} rows/s  "
        f"{answer['seconds']:>8.2f} s  peak RSS {answer['peak_rss_mib']:>7.0f} MiB "
        f"(before {answer['rss_before_mib']:.0f})  difference [{low:+.4f}, {high:+.4f}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--task", choices=["binary", "regression", "both"], default="both")
    parser.add_argument("--no-scipy", action="store_true", help="skip scipy's BCa bootstrap")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "streaming":
            task, rows, replicates, chunk_rows = rest[0], *map(int, rest[1:])
            print(json.dumps(measure_streaming(task, rows, replicates, chunk_rows)))
        else:
            batch = None if rest[2] == "none" else int(rest[2])
            print(json.dumps(measure_scipy(int(rest[0]), int(rest[1]), batch)))
        return

    print(
        f"paired bootstrap, B = {args.replicates}, chunks of {args.chunk_rows:,} rows, "
        "one BLAS thread per measurement"
    )
    tasks = ["binary", "regression"] if args.task == "both" else [args.task]
    for task in tasks:
        answer = _child(
            ["streaming", task, str(args.rows), str(args.replicates), str(args.chunk_rows)], None
        )
        print(_line(f"streaming Poisson ({task})", args.rows, answer), flush=True)
    if args.no_scipy:
        return
    for batch in (None, SCIPY_BATCH):
        name = f"scipy BCa, batch={batch}"
        for rows in SCIPY_SIZES:
            answer = _child(
                ["scipy", str(rows), str(args.replicates), str(batch).lower()], MEMORY_LIMIT_GIB
            )
            print(_line(f"{name} (binary)", rows, answer), flush=True)
            if "failed" in answer:
                print(
                    f"{name} gave up at {rows:,} rows "
                    f"(limits: {MEMORY_LIMIT_GIB} GiB address space, {TIME_LIMIT_S} s)"
                )
                break


if __name__ == "__main__":
    main()
