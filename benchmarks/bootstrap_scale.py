"""Print rows/s and peak RSS of the streaming bootstrap beside pandas + scikit-learn and scipy.

    python benchmarks/bootstrap_scale.py                      # 1M rows, B = 1000
    python benchmarks/bootstrap_scale.py --rows 10000000
    python benchmarks/bootstrap_scale.py --hot-loop           # the per-group sums, three ways

Three comparisons, for a binary task and a regression:

- evaluation of a predictions parquet file (``y_true``, ``y_pred``, written to a temporary
  directory first, not timed): streamed a chunk at a time with the reader ``mlops-ci evaluate``
  uses, into the metrics accumulator and a ``BootstrapAccumulator`` giving every metric a
  95 % interval (and once more without it), beside the naive evaluation without intervals:
  ``pandas.read_parquet`` of the whole file, then scikit-learn's metrics. The clock starts
  after the imports;
- the paired bootstrap of head - base (``mlops_ci.evaluation.significance.PairedBootstrap``)
  on synthetic rows made chunk by chunk (binary: accuracy, F1, one Poisson draw per cell and
  replicate; regression: RMSE, R², sums per random group, one Poisson draw per group and
  replicate). Timings cover the statistics, not the making of the rows;
- ``scipy.stats.bootstrap`` (paired, BCa, the accuracy difference): it needs every row in
  memory and a jackknife of N resamples of N - 1 rows, so it runs at growing sizes until it
  fails under the address-space limit or the time limit, and the script says where it gave up.

Every measurement runs in a child process of its own (its own peak RSS), with one BLAS thread;
the parent imports nothing heavy, since a child's peak RSS starts from its parent's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
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


def write_predictions(task: str, rows: int, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    kind = pa.float64() if task == "regression" else pa.int64()
    with pq.ParquetWriter(path, pa.schema([("y_true", kind), ("y_pred", kind)])) as writer:
        for y, base, _ in _chunks(task, rows, 1_000_000):
            writer.write_table(pa.table({"y_true": y, "y_pred": base}))


def _import_readers() -> None:
    """pandas, pyarrow and scikit-learn, imported before the clock starts in both modes."""
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn.metrics  # noqa: F401


def evaluate_streaming(task: str, path: Path, replicates: int, chunk_rows: int) -> dict[str, Any]:
    """Metrics and, unless *replicates* is 0, every metric's bootstrap interval."""
    _import_readers()
    from mlops_ci.evaluation.bootstrap import BootstrapAccumulator
    from mlops_ci.evaluation.metrics import accumulator
    from mlops_ci.predict_chunks import read_chunks

    baseline = _peak_rss_mib()
    start = time.perf_counter()
    metrics = accumulator(task)
    intervals = BootstrapAccumulator(task, replicates=replicates, seed=0) if replicates else None
    for chunk in read_chunks(path, chunk_rows, ["y_true", "y_pred"]):
        y_true, y_pred = chunk["y_true"].to_numpy(), chunk["y_pred"].to_numpy()
        metrics.update(y_true, y_pred)
        if intervals is not None:
            intervals.update(y_true, y_pred)
    found = metrics.result()
    name = "rmse" if task == "regression" else "accuracy"
    shown = [name, found[name], None, None]
    if intervals is not None:
        bounds = intervals.intervals()[name]
        shown[2:] = [bounds.low, bounds.high]
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows_per_s": metrics.rows / seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "rss_before_mib": baseline,
        "metric": shown,
    }


def evaluate_naive(task: str, path: Path) -> dict[str, Any]:
    _import_readers()
    import numpy as np
    import pandas as pd
    from sklearn import metrics as skm

    baseline = _peak_rss_mib()
    start = time.perf_counter()
    frame = pd.read_parquet(path)
    y, p = frame["y_true"], frame["y_pred"]
    if task == "regression":
        found = {
            "mae": skm.mean_absolute_error(y, p),
            "mse": skm.mean_squared_error(y, p),
            "rmse": skm.root_mean_squared_error(y, p),
            "r2": skm.r2_score(y, p),
            "mean_error": float(np.mean(p - y)),
        }
        name = "rmse"
    else:
        found = {
            "accuracy": skm.accuracy_score(y, p),
            "precision": skm.precision_score(y, p),
            "recall": skm.recall_score(y, p),
            "f1": skm.f1_score(y, p),
            "specificity": skm.recall_score(y, p, pos_label=0),
            "balanced_accuracy": skm.balanced_accuracy_score(y, p),
            "mcc": skm.matthews_corrcoef(y, p),
        }
        name = "accuracy"
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows_per_s": len(frame) / seconds,
        "peak_rss_mib": _peak_rss_mib(),
        "rss_before_mib": baseline,
        "metric": [name, found[name], None, None],
    }


def hot_loop(groups: int = 16_384, columns: int = 9) -> None:
    """ns per row and column of three ways to sum a block of rows per group."""
    import numpy as np

    from mlops_ci.evaluation import poisson

    rows = poisson.BLOCK_GROUPS * groups
    rng = np.random.default_rng(0)
    parts = rng.normal(size=(columns, rows))
    table = np.ascontiguousarray(parts.T)
    assigned = poisson.row_groups(0, 0, groups)

    def with_bincount() -> Any:
        return [np.bincount(assigned, weights=part, minlength=groups) for part in parts]

    def with_add_at() -> Any:
        sums = np.zeros((groups, columns))
        np.add.at(sums, assigned, table)
        return sums

    def with_sorting() -> Any:
        order = np.argsort(assigned, kind="stable")
        starts = np.flatnonzero(np.diff(assigned[order], prepend=-1))
        return np.add.reduceat(table[order], starts, axis=0)

    def drawing_groups() -> Any:
        return poisson.row_groups(0, 1, groups)

    print(f"one block of {rows:,} rows into {groups:,} groups, {columns} float64 columns")
    for name, run in (
        ("np.bincount, one per column", with_bincount),
        ("np.add.at on the (rows, columns) table", with_add_at),
        ("argsort by group + np.add.reduceat", with_sorting),
        ("drawing the rows' groups (per row)", drawing_groups),
    ):
        run()
        repeats, start = 20, time.perf_counter()
        for _ in range(repeats):
            run()
        per = (time.perf_counter() - start) / repeats / rows * 1e9
        unit = "ns per row" if run is drawing_groups else "ns per row and column"
        print(f"  {name:<40} {per if run is drawing_groups else per / columns:6.2f} {unit}")


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
        return f"{name:<38} {rows:>11,} rows  gave up: {answer['failed']}"
    if "metric" in answer:
        metric, value, low, high = answer["metric"]
        shown = f"{metric} {value:.4f}" + (f" [{low:.4f}, {high:.4f}]" if low is not None else "")
    else:
        low, high = answer["difference"]
        shown = f"difference [{low:+.4f}, {high:+.4f}]"
    return (
        f"{name:<38} {rows:>11,} rows  {answer['rows_per_s']:>12,.0f} rows/s  "
        f"{answer['seconds']:>8.2f} s  peak RSS {answer['peak_rss_mib']:>7.0f} MiB "
        f"(before {answer['rss_before_mib']:.0f})  {shown}"
    )


def _fastest(answers: list[dict[str, Any]]) -> dict[str, Any]:
    done = [a for a in answers if "failed" not in a]
    return min(done, key=lambda a: a["seconds"]) if done else answers[0]


def _evaluations(
    tasks: list[str], rows: int, replicates: int, chunk_rows: int, repeat: int
) -> None:
    print(
        f"evaluation of a predictions file, {rows:,} rows, B = {replicates}, "
        f"the fastest of {repeat} interleaved runs each"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for task in tasks:
            path = Path(tmp) / f"{task}.parquet"
            # in a child too: a child's peak RSS starts at its parent's (fork keeps it)
            _child(["write", task, str(rows), str(path)], None)
            evaluate = ["evaluate", task, str(path)]
            modes = {
                f"streamed, with intervals ({task})": [*evaluate, str(replicates), str(chunk_rows)],
                f"streamed, no intervals ({task})": [*evaluate, "0", str(chunk_rows)],
                f"pandas + scikit-learn, none ({task})": ["naive", task, str(path)],
            }
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in modes}
            for _ in range(repeat):  # interleaved, so that a busy spell hits every mode
                for name, child_args in modes.items():
                    runs[name].append(_child(child_args, None))
            best = [_fastest(answers) for answers in runs.values()]
            for name, answer in zip(modes, best, strict=True):
                print(_line(name, rows, answer), flush=True)
            streaming, naive = best[0], best[-1]
            if "failed" not in streaming and "failed" not in naive:
                ratio = streaming["rows_per_s"] / naive["rows_per_s"]
                print(f"{'':<38} with intervals / naive: {ratio:.2f} x the throughput")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--task", choices=["binary", "regression", "both"], default="both")
    parser.add_argument("--no-scipy", action="store_true", help="skip scipy's BCa bootstrap")
    parser.add_argument("--hot-loop", action="store_true", help="only time the per-group sums")
    parser.add_argument(
        "--repeat", type=int, default=1, help="evaluations: keep the fastest of this many runs"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "streaming":
            task, rows, replicates, chunk_rows = rest[0], *map(int, rest[1:])
            print(json.dumps(measure_streaming(task, rows, replicates, chunk_rows)))
        elif kind == "evaluate":
            found = evaluate_streaming(rest[0], Path(rest[1]), int(rest[2]), int(rest[3]))
            print(json.dumps(found))
        elif kind == "write":
            write_predictions(rest[0], int(rest[1]), Path(rest[2]))
            print(json.dumps({}))
        elif kind == "naive":
            print(json.dumps(evaluate_naive(rest[0], Path(rest[1]))))
        else:
            batch = None if rest[2] == "none" else int(rest[2])
            print(json.dumps(measure_scipy(int(rest[0]), int(rest[1]), batch)))
        return
    if args.hot_loop:
        hot_loop()
        return

    tasks = ["binary", "regression"] if args.task == "both" else [args.task]
    _evaluations(tasks, args.rows, args.replicates, args.chunk_rows, args.repeat)
    print(
        f"paired bootstrap, B = {args.replicates}, chunks of {args.chunk_rows:,} rows, "
        "one BLAS thread per measurement"
    )
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
