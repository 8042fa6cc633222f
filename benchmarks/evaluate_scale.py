"""Rows/s and peak RSS of `mlops-ci evaluate` (with intervals) beside a naive evaluation.

For each size (--rows) a synthetic test table is generated in a temporary directory: five
numeric features, a binary target `label`, a numeric target `y` and a `sex` column to slice
by. A logistic regression (classification) and a linear regression (regression) are trained on
5000 other rows and saved with skops. Each table is then evaluated by each task's model, each
evaluation in its own process so that each peak RSS is its own (``resource.getrusage``):

- evaluate: ``mlops-ci evaluate``'s command function — chunks of --chunk-rows rows, scored,
  written to the predictions parquet, metrics, the slices by `sex`, 1000-replicate bootstrap
  intervals, DeLong's AUC interval (classification), the residuals sample (regression) and the
  plot data (no images, no progress bar);
- naive: the columns it needs read whole with pandas, ``predict`` (and ``predict_proba``) at
  once, scikit-learn's metrics overall and per value of `sex` (classification: accuracy,
  precision, recall, f1, balanced accuracy, MCC, ROC AUC, average precision, log loss, Brier;
  regression: MAE, MSE, RMSE, R², mean error); no intervals, no predictions file written.

The runs are interleaved (evaluate, naive, evaluate, naive, ...) --repeat times, and the best
and the median of each are printed: the machine may be shared. The clock starts once pandas,
scikit-learn, pyarrow, skops and the evaluation modules are imported, in both children alike
(skops's import loads every scikit-learn estimator: seconds when no bytecode is cached); peak
RSS includes them (about 200 MiB of either figure). "max |diff|" is the largest difference
between the two evaluations' overall metrics of the same name (streaming against in-memory).

The model's probabilities are not rounded, so the rank metrics' counts hold one entry per row
(16 bytes each, overall and again across each slice's values; docs/evaluation.md).

    python benchmarks/evaluate_scale.py                          # 1M rows, both tasks, 3 runs
    python benchmarks/evaluate_scale.py --rows 1000000 10000000 --repeat 5
    python benchmarks/evaluate_scale.py --task regression --format csv
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FEATURES = ("a", "b", "c", "d", "e")
TARGETS = {"classification": "label", "regression": "y"}


def table(rows: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(FEATURES)))
    signal = x @ np.array([1.0, -0.5, 0.3, 0.2, 0.1]) + rng.normal(size=rows)
    frame = pd.DataFrame(x, columns=list(FEATURES))
    frame["label"] = (signal > 0).astype(np.int64)
    frame["y"] = signal
    frame["sex"] = rng.choice(["female", "male"], rows)
    return frame


def generate(directory: Path, rows: int, fmt: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.linear_model import LinearRegression, LogisticRegression

    from mlops_ci.models import save_model

    train = table(5000, seed=1)
    x = train[list(FEATURES)]
    save_model(LogisticRegression().fit(x, train["label"]), directory / "classification.skops")
    save_model(LinearRegression().fit(x, train["y"]), directory / "regression.skops")
    path = directory / f"test.{fmt}"
    block = 1_000_000
    writer = None
    for index, start in enumerate(range(0, rows, block)):
        frame = table(min(block, rows - start), seed=100 + index)
        if fmt == "csv":
            frame.to_csv(path, mode="a", header=start == 0, index=False)
            continue
        batch = pa.Table.from_pandas(frame, preserve_index=False)
        writer = writer or pq.ParquetWriter(path, batch.schema)
        writer.write_table(batch)  # one 1Mi-row group per block, as pandas writes
    if writer is not None:
        writer.close()
    return path


def evaluate(directory: Path, path: Path, task: str, chunk_rows: int) -> dict[str, float]:
    from mlops_ci.commands.evaluate import evaluate as evaluate_command

    out = directory / f"eval-{task}"
    evaluate_command(
        model=directory / f"{task}.skops", data=path, target=TARGETS[task], slices=[["sex"]],
        predictions=out / "predictions.parquet", metrics=out / "metrics.json",
        plots=out / "plots", chunk_rows=chunk_rows, images=False, progress=False, env={},
        stdout=io.StringIO(), stderr=sys.stderr,
    )
    found: dict[str, float] = json.loads((out / "metrics.json").read_text())
    return found


def naive(directory: Path, path: Path, task: str) -> dict[str, float]:
    import pandas as pd
    from sklearn import metrics as skm

    from mlops_ci.models import load_model

    model = load_model(directory / f"{task}.skops", trusted_types=None)
    wanted = [*FEATURES, TARGETS[task], "sex"]
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path, columns=wanted)
    else:
        frame = pd.read_csv(path, usecols=wanted)
    x = frame[list(FEATURES)]
    frame["prediction"] = model.predict(x)
    if task == "classification":
        frame["proba"] = model.predict_proba(x)[:, 1]

    def classification(part: Any) -> dict[str, float]:
        y, p, s = part["label"], part["prediction"], part["proba"]
        return {
            "accuracy": skm.accuracy_score(y, p),
            "precision": skm.precision_score(y, p),
            "recall": skm.recall_score(y, p),
            "f1": skm.f1_score(y, p),
            "balanced_accuracy": skm.balanced_accuracy_score(y, p),
            "mcc": skm.matthews_corrcoef(y, p),
            "roc_auc": skm.roc_auc_score(y, s),
            "average_precision": skm.average_precision_score(y, s),
            "log_loss": skm.log_loss(y, s),
            "brier": skm.brier_score_loss(y, s),
        }

    def regression(part: Any) -> dict[str, float]:
        y, p = part["y"], part["prediction"]
        mse = skm.mean_squared_error(y, p)
        return {
            "mae": skm.mean_absolute_error(y, p),
            "mse": mse,
            "rmse": mse**0.5,
            "r2": skm.r2_score(y, p),
            "mean_error": float((p - y).mean()),
        }

    scores = classification if task == "classification" else regression
    overall = scores(frame)
    for _, part in frame.groupby("sex"):
        scores(part)
    return {**overall, "rows": len(frame)}


def child(mode: str, directory: Path, path: Path, task: str, chunk_rows: int) -> None:
    import pandas  # noqa: F401  imported before the clock starts, in both modes
    import pyarrow.parquet  # noqa: F401
    import sklearn.linear_model
    import sklearn.metrics  # noqa: F401
    import skops.io  # noqa: F401  (its import lists every scikit-learn estimator: seconds)

    import mlops_ci.commands.evaluate
    import mlops_ci.evaluation.delong
    import mlops_ci.evaluation.evaluate_outputs
    import mlops_ci.evaluation.evaluate_run
    import mlops_ci.models  # noqa: F401

    start = time.perf_counter()
    if mode == "evaluate":
        found = evaluate(directory, path, task, chunk_rows)
    else:
        found = naive(directory, path, task)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"metrics": found, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def _run(mode: str, directory: Path, path: Path, task: str, chunk_rows: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--dir", str(directory), "--path",
           str(path), "--task", task, "--chunk-rows", str(chunk_rows)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the {mode} child failed:\n{done.stderr}")
    found: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return found


def measure(directory: Path, path: Path, rows: int, task: str, args: Any) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"evaluate": [], "naive": []}
    for _ in range(args.repeat):
        for mode in runs:  # interleaved, so that both see the same load
            runs[mode].append(_run(mode, directory, path, task, args.chunk_rows))
    summary: dict[str, Any] = {}
    for mode, found in runs.items():
        rates = [rows / run["seconds"] for run in found]
        peaks = [run["peak_mib"] for run in found]
        summary[mode] = {
            "best_rate": max(rates), "median_rate": statistics.median(rates),
            "best_peak": min(peaks), "median_peak": statistics.median(peaks),
            "max_peak": max(peaks), "metrics": found[0]["metrics"],
        }
    ours, theirs = summary["evaluate"]["metrics"], summary["naive"]["metrics"]
    shared = [k for k in theirs if k in ours and k != "rows"]
    summary["max_diff"] = max(abs(ours[k] - theirs[k]) for k in shared)
    summary["compared"] = shared
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--task", choices=["classification", "regression", "both"],
                        default="both")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each")
    parser.add_argument("--child", choices=["evaluate", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    tasks = ["classification", "regression"] if args.task == "both" else [args.task]
    if args.child:
        child(args.child, args.dir, args.path, tasks[0], args.chunk_rows)
        return
    print(
        f"{args.repeat} interleaved runs of each, best / median; the clock excludes the imports "
        "(pandas, pyarrow, scikit-learn, skops, mlops-ci's evaluation modules, imported before it "
        "in both children); peak RSS includes them."
    )
    header = (f"{'rows':>11} {'task':<14} {'evaluation':<10} {'rows/s best':>12} "
              f"{'median':>10} {'peak RSS median':>16} {'max':>7}")
    for rows in args.rows:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            start = time.perf_counter()
            path = generate(directory, rows, args.format)
            size, took = path.stat().st_size / 2**20, time.perf_counter() - start
            print(f"\n{rows:,} rows, {size:.0f} MiB {args.format}, generated in {took:.1f}s")
            print(header)
            for task in tasks:
                found = measure(directory, path, rows, task, args)
                for mode in ("evaluate", "naive"):
                    s = found[mode]
                    print(
                        f"{rows:>11,} {task:<14} {mode:<10} {s['best_rate']:>12,.0f} "
                        f"{s['median_rate']:>10,.0f} {s['median_peak']:>12,.0f} MiB "
                        f"{s['max_peak']:>7,.0f}"
                    )
                ratio = found["evaluate"]["median_rate"] / found["naive"]["median_rate"]
                best = found["evaluate"]["best_rate"] / found["naive"]["best_rate"]
                print(
                    f"{'':>11} {task:<14} evaluate / naive throughput: {ratio:.2f}x median, "
                    f"{best:.2f}x best; max |diff| of {len(found['compared'])} overall "
                    f"metrics: {found['max_diff']:.1e}"
                )


if __name__ == "__main__":
    main()
