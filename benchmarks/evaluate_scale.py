"""Rows/s and peak RSS of `mlops-ci evaluate` (with intervals) beside a naive evaluation.

Generates a synthetic binary test table (five numeric features, the target, a `sex` column to
slice by) in a temporary directory, trains a logistic regression on 5000 other rows, saves it
with skops, then evaluates the table twice, each in its own process so that each peak RSS is
its own (``resource.getrusage``):

- evaluate: ``mlops-ci evaluate``'s command function — chunks of --chunk-rows rows, scored,
  written to the predictions parquet, metrics, the slices by `sex`, 1000-replicate bootstrap
  intervals, DeLong's AUC interval and the plot data (no images, no progress bar);
- naive: the whole table read with pandas, ``predict`` and ``predict_proba`` at once,
  scikit-learn's metrics (accuracy, precision, recall, f1, balanced accuracy, MCC, ROC AUC,
  average precision, log loss, Brier) overall and per value of `sex`; no intervals, and no
  predictions file written.

The clock starts once pandas, scikit-learn, pyarrow and the evaluation modules are imported;
peak RSS includes them (about 200 MiB of either figure). The model's probabilities are not
rounded, so the rank metrics' counts hold one entry per row (24 bytes each, about twice that
while the last runs merge; docs/evaluation.md#streaming-and-memory): that, and the parquet row
group being read (pyarrow reads one at a time; pandas writes 1Mi-row groups), is what grows.

    python benchmarks/evaluate_scale.py                     # 1M rows, parquet
    python benchmarks/evaluate_scale.py --rows 10000000 --format csv
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FEATURES = ("a", "b", "c", "d", "e")


def table(rows: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, len(FEATURES)))
    signal = x @ np.array([1.0, -0.5, 0.3, 0.2, 0.1]) + rng.normal(size=rows)
    frame = pd.DataFrame(x, columns=list(FEATURES))
    frame["label"] = (signal > 0).astype(np.int64)
    frame["sex"] = rng.choice(["female", "male"], rows)
    return frame


def generate(directory: Path, rows: int, fmt: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.linear_model import LogisticRegression

    from mlops_ci.models import save_model

    train = table(5000, seed=1)
    model = LogisticRegression().fit(train[list(FEATURES)], train["label"])
    save_model(model, directory / "model.skops")
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
        writer.write_table(batch)
    if writer is not None:
        writer.close()
    return path


def evaluate(directory: Path, path: Path, chunk_rows: int) -> dict[str, Any]:
    from mlops_ci.commands.evaluate import evaluate as evaluate_command

    out = io.StringIO()
    evaluate_command(
        model=directory / "model.skops", data=path, target="label", slices=[["sex"]],
        predictions=directory / "eval" / "predictions.parquet",
        metrics=directory / "eval" / "metrics.json", plots=directory / "eval" / "plots",
        chunk_rows=chunk_rows, images=False, progress=False, env={}, stdout=out,
        stderr=sys.stderr,
    )
    metrics = json.loads((directory / "eval" / "metrics.json").read_text())
    return {"rows": metrics["rows"], "roc_auc": metrics["roc_auc"]}


def naive(directory: Path, path: Path) -> dict[str, Any]:
    import pandas as pd
    from sklearn import metrics as skm

    from mlops_ci.models import load_model

    model = load_model(directory / "model.skops", trusted_types=None)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    x = frame[list(FEATURES)]
    frame["prediction"] = model.predict(x)
    frame["proba"] = model.predict_proba(x)[:, 1]

    def scores(part: Any) -> dict[str, float]:
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

    overall = scores(frame)
    for _, part in frame.groupby("sex"):
        scores(part)
    return {"rows": len(frame), "roc_auc": overall["roc_auc"]}


def child(mode: str, directory: Path, path: Path, chunk_rows: int) -> None:
    import pandas  # noqa: F401  imported before the clock starts, in both modes
    import pyarrow.parquet  # noqa: F401
    import sklearn.linear_model
    import sklearn.metrics  # noqa: F401

    import mlops_ci.commands.evaluate
    import mlops_ci.evaluation.delong
    import mlops_ci.evaluation.evaluate_outputs
    import mlops_ci.evaluation.evaluate_run
    import mlops_ci.models  # noqa: F401

    start = time.perf_counter()
    found = evaluate(directory, path, chunk_rows) if mode == "evaluate" else naive(directory, path)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({**found, "seconds": seconds, "peak_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--child", choices=["evaluate", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dir, args.path, args.chunk_rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        start = time.perf_counter()
        path = generate(directory, args.rows, args.format)
        size, took = path.stat().st_size / 2**20, time.perf_counter() - start
        print(f"{args.rows:,} rows, {size:.0f} MiB {args.format}, generated in {took:.1f}s")
        print(f"{'evaluation':<10} {'seconds':>8} {'rows/s':>12} {'peak RSS':>10}  ROC AUC")
        rates = {}
        for mode in ("evaluate", "naive"):
            cmd = [sys.executable, __file__, "--child", mode, "--dir", str(directory),
                   "--path", str(path), "--chunk-rows", str(args.chunk_rows)]
            out = json.loads(subprocess.run(cmd, capture_output=True, check=True, text=True).stdout)
            rates[mode] = out["rows"] / out["seconds"]
            print(
                f"{mode:<10} {out['seconds']:>8.2f} {rates[mode]:>12,.0f} "
                f"{out['peak_mib']:>8.0f} MiB  {out['roc_auc']:.12f}"
            )
        print(f"evaluate / naive throughput: {rates['evaluate'] / rates['naive']:.2f}x")


if __name__ == "__main__":
    main()
