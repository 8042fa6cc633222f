"""Print what the gates' evidence costs: one pass over base and head predictions, in lockstep.

Synthetic binary predictions files (written with the evaluate stage's writer) of N rows with a
slice column; the pass computes the paired bootstrap of every counting metric, McNemar's test,
and a tested slice gate, as `mlops-ci run` does for these gates:

    gates:
      - {metric: accuracy, max_drop: 0, test: mcnemar}
      - {metric: recall, max_drop: 0, test: paired_bootstrap, slice: {sex: female}}

Prints rows/s and the peak RSS of a child process per size. Run with
`python benchmarks/gate_evidence.py [ROWS ...]` (default 100000 1000000).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
from mlops_ci.config import load_config
from mlops_ci.compare import compare_metrics
from mlops_ci.config import MetricsConfig
from mlops_ci.evaluation.evidence import BaseSide, compute_evidence
from mlops_ci.evaluation.predictions import PredictionsMeta
from mlops_ci.evaluation.predictions_writer import PredictionsWriter

work, rows = Path(sys.argv[1]), int(sys.argv[2])
meta = PredictionsMeta(task="binary", target="label", labels=(0, 1), pos_label=1,
                       slices=("sex",), metrics_file="eval/metrics.json")
rng = np.random.default_rng(0)
for name, error in (("base", 0.10), ("head", 0.11)):
    with PredictionsWriter(work / f"{name}.parquet", meta) as out:
        for start in range(0, rows, 500_000):
            n = min(500_000, rows - start)
            r = np.random.default_rng(start)
            y = r.integers(0, 2, n)
            wrong = rng.random(n) < error
            out.write({"row": np.arange(start, start + n), "y_true": y,
                       "y_pred": np.where(wrong, 1 - y, y),
                       "slice:sex": np.where(r.random(n) < 0.5, "female", "male").astype(object)})
(work / "mlops.yaml").write_text(
    "model: {name: m, path: model.pkl}\nevaluation:\n  slices: [sex]\n"
    "gates:\n  - {metric: accuracy, max_drop: 0, test: mcnemar}\n"
    "  - {metric: recall, max_drop: 0, test: paired_bootstrap, slice: {sex: female}}\n")
config = load_config(work / "mlops.yaml", pipeline=False)
metrics = compare_metrics({"eval/metrics.json": {"accuracy": 0.89}},
                          {"eval/metrics.json": {"accuracy": 0.9}}, MetricsConfig())
start = time.perf_counter()
evidence = compute_evidence(config, work / "head.parquet",
                            BaseSide(work / "base.parquet", declared=True), metrics)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mib": peak,
                  "p_accuracy": evidence.facts[0].test.p_value}))
"""


def main(sizes: list[int]) -> None:
    print(f"{'rows':>10}  {'seconds':>8}  {'rows/s':>10}  {'peak RSS':>9}  p (accuracy)")
    for rows in sizes:
        with tempfile.TemporaryDirectory() as work:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, work, str(rows)], capture_output=True, text=True,
                check=True,
            )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rate = figures["rows"] / figures["seconds"]
        print(
            f"{figures['rows']:>10}  {figures['seconds']:>8.2f}  {rate:>10,.0f}  "
            f"{figures['peak_mib']:>6.0f} MiB  {figures['p_accuracy']:.3g}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
