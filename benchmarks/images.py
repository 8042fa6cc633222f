"""Print what drawing the evaluation's PNG images costs: time and bytes per image.

The plot data comes from the real accumulators over a million rows (a binary model with
scores, a 15-class model, a regression with 5,000 residuals drawn); `write_images` runs in a
fresh process, so matplotlib's import is in the first figure, and then again in the same
process. Run with `python benchmarks/images.py` (about ten seconds).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

CODE = """
import sys, time
t0 = time.perf_counter()
from pathlib import Path
import numpy as np
from mlops_ci.evaluation.curves import plots
from mlops_ci.evaluation.metrics import (
    BinaryAccumulator, MulticlassAccumulator, RegressionAccumulator)
rng = np.random.default_rng(0)
n = 1_000_000
y = rng.integers(0, 2, n)
s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)
binary = BinaryAccumulator()
binary.update(y, (s > 0.5).astype(int), s)
k = rng.integers(0, 15, n)
multi = MulticlassAccumulator(labels=list(range(15)))
multi.update(k, np.where(rng.random(n) < 0.7, k, rng.integers(0, 15, n)))
truth = rng.normal(10, 3, n)
pred = truth + rng.normal(0.3, 1.0, n)
reg = RegressionAccumulator()
reg.update(truth, pred)
data = {
    "binary": plots(binary),
    "multiclass": plots(multi),
    "regression": {**plots(reg), "residuals": [
        {"predicted": float(p), "actual": float(a), "residual": float(a - p)}
        for p, a in zip(pred[:5000], truth[:5000])]},
}
from mlops_ci.evaluation.images import write_images
out = Path(sys.argv[1])
for run in ("first (imports matplotlib)", "second"):
    for task, task_plots in data.items():
        start = time.perf_counter()
        paths = write_images(task_plots, out / task, title="bench")
        took = time.perf_counter() - start
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1000:.1f} kB" for p in paths)
        print(f"{run:27} {task:10} {took:6.2f} s  {sizes}")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", CODE, str(Path(tmp))], check=True)
        print(f"whole process, a million rows per task included: "
              f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
