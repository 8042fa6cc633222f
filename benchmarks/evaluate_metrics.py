"""Rows/s and peak RSS of the streaming evaluation beside pandas + scikit-learn in memory.

Generates a synthetic binary test set (target, prediction, a probability with 10⁶ possible
values, a `sex` column to slice by) as CSV in a temporary directory, then evaluates it twice,
each in its own process so that each peak RSS is its own (``resource.getrusage``):

- streaming: ``mlops_ci.evaluation.stream.evaluate_file`` (chunks of --chunk-rows rows);
- naive: ``pandas.read_csv`` of the whole file, then scikit-learn's metrics (the same ones:
  accuracy, precision, recall, f1, balanced accuracy, MCC, ROC AUC, average precision, log
  loss, Brier), overall and per value of `sex`.

The clock starts once pandas, scikit-learn and the evaluation modules are imported; peak RSS
includes them (about 140 MiB of the figure in either mode).

    python benchmarks/evaluate_metrics.py                 # 1M rows
    python benchmarks/evaluate_metrics.py --rows 10000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def generate(path: Path, rows: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    block = 1_000_000
    for start in range(0, rows, block):
        n = min(block, rows - start)
        y = rng.integers(0, 2, n)
        proba = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 6)
        frame = pd.DataFrame(
            {
                "target": y,
                "prediction": (proba > 0.5).astype(int),
                "proba": proba,
                "sex": rng.choice(["female", "male"], n),
                "feature": rng.normal(size=n).round(4),
            }
        )
        frame.to_csv(path, mode="a", header=start == 0, index=False)


def streaming(path: Path, chunk_rows: int) -> dict[str, Any]:
    from mlops_ci.evaluation.stream import evaluate_file

    result = evaluate_file(
        path,
        target="target",
        prediction="prediction",
        score="proba",
        task="binary",
        slices=["sex"],
        chunk_rows=chunk_rows,
    )
    return {"rows": result.rows, "roc_auc": result.metrics["roc_auc"]}


def naive(path: Path) -> dict[str, Any]:
    import pandas as pd
    from sklearn import metrics as skm

    frame = pd.read_csv(path)

    def scores(part: Any) -> dict[str, float]:
        y, p, s = part["target"], part["prediction"], part["proba"]
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

    overall = scores(frame)
    for _, part in frame.groupby("sex"):
        scores(part)
    return {"rows": len(frame), "roc_auc": overall["roc_auc"]}


def child(mode: str, path: Path, chunk_rows: int) -> None:
    import pandas  # noqa: F401  imported before the clock starts, in both modes
    import sklearn.metrics  # noqa: F401

    import mlops_ci.evaluation.stream  # noqa: F401

    start = time.perf_counter()
    found = streaming(path, chunk_rows) if mode == "streaming" else naive(path)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({**found, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--child", choices=["streaming", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.chunk_rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test.csv"
        start = time.perf_counter()
        generate(path, args.rows)
        size, took = path.stat().st_size / 2**20, time.perf_counter() - start
        print(f"{args.rows:,} rows, {size:.0f} MiB CSV, generated in {took:.1f}s")
        print(f"{'evaluation':<12} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10}  ROC AUC")
        for mode in ("streaming", "naive"):
            cmd = [sys.executable, __file__, "--child", mode, "--path", str(path)]
            cmd += ["--chunk-rows", str(args.chunk_rows)]
            out = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)
            rate = out["rows"] / out["seconds"]
            print(
                f"{mode:<12} {out['seconds']:>8.2f} {rate:>12,.0f} {out['peak_mib']:>8.0f} MiB"
                f"  {out['roc_auc']:.12f}"
            )


if __name__ == "__main__":
    main()
