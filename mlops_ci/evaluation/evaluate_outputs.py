"""The files `mlops-ci evaluate` writes besides the predictions, built as text then written once.

- ``metrics.json``: flat, every metric of the task and ``rows`` (what ``dvc metrics`` reads);
- ``evaluation.json`` beside it: the task, rows, interval settings, the intervals (the Poisson
  bootstrap's of every counting metric or regression metric, DeLong's of ROC AUC; average
  precision, log loss and Brier have none and are left out), the metrics of every slice, and
  the class labels;
- ``<plots>/<name>.json``: one DVC plot-data file per plot the task has (``confusion``, ``roc``,
  ``precision_recall``, ``calibration``, ``errors``, ``residuals``);
- ``<plots>/<name>.png``, drawn by ``mlops_ci.evaluation.images`` (matplotlib).

Everything is staged first — the predictions file (written by the caller to a temporary
name), the JSON files beside their targets, the images in a temporary directory — and then
renamed into place as one set (``files.replace_all``): the predictions first, then the images,
the JSON files last. A rename that fails puts back every file already replaced, so a failure
leaves the previous outputs, not a mixture. A symlink at an output (DVC's ``cache.type
symlink``) is replaced by the new file, never written through into DVC's cache.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.evaluation.curves import Records
from mlops_ci.evaluation.evaluate_run import Evaluated, Plan
from mlops_ci.files import replace_all, stage_texts

EVALUATION_JSON = "evaluation.json"
DELONG = frozenset({"roc_auc"})  # the rank metric with an interval, DeLong's


def plain(value: Any) -> Any:
    """*value* as strict JSON holds it: numpy scalars unwrapped, NaN and infinity as None."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes)):
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def metrics_document(evaluated: Evaluated) -> dict[str, Any]:
    """metrics.json: every metric, then ``rows`` as a whole number."""
    out = {name: plain(value) for name, value in evaluated.metrics.items() if name != "rows"}
    out["rows"] = evaluated.rows
    return out


def evaluation_document(evaluated: Evaluated, plan: Plan) -> dict[str, Any]:
    """evaluation.json: the intervals, the slices and the settings that made them."""
    slices = []
    for found in evaluated.slices:
        metrics = dict(found["metrics"])
        rows = int(metrics.pop("rows"))
        slices.append(
            {
                "where": {str(k): plain(v) for k, v in found["slice"].items()},
                "rows": rows,
                "metrics": {name: plain(value) for name, value in metrics.items()},
            }
        )
    return {
        "task": plan.task,
        "rows": evaluated.rows,
        "confidence": plan.confidence,
        "replicates": plan.replicates,
        "seed": plan.seed,
        "intervals": {
            name: {
                "low": plain(interval.low),
                "high": plain(interval.high),
                "method": "delong" if name in DELONG else "poisson_bootstrap",
            }
            for name, interval in evaluated.intervals.items()
        },
        "slices": slices,
        "labels": None if plan.labels is None else [plain(x) for x in plan.labels],
    }


def _json(document: Any) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def evaluation_path(metrics_path: Path) -> Path:
    """evaluation.json, beside metrics.json."""
    path = metrics_path.with_name(EVALUATION_JSON)
    if path == metrics_path:
        raise InputError(
            f"--metrics {metrics_path} is where evaluation.json goes (beside the metrics file); "
            "name the metrics file otherwise, such as metrics.json."
        )
    return path


def output_texts(
    evaluated: Evaluated, plan: Plan, *, metrics_path: Path, plots_dir: Path | None
) -> dict[Path, str]:
    """Every JSON file to write, by path."""
    files = {
        metrics_path: _json(metrics_document(evaluated)),
        evaluation_path(metrics_path): _json(evaluation_document(evaluated, plan)),
    }
    if plots_dir is not None:
        for name, records in evaluated.plots.items():
            files[plots_dir / f"{name}.json"] = _json(_plain_records(records))
    return files


def _plain_records(records: Records) -> Records:
    return [{str(k): plain(v) for k, v in record.items()} for record in records]


def draw_images(
    plots: Mapping[str, Records], plots_dir: Path, *, title: str | None
) -> tuple[Path, list[Path]]:
    """Draw the images into a new directory beside *plots_dir*: (that directory, the images).

    Without matplotlib, the images module's InputError (install the extra, or --no-images).
    """
    staging = plots_dir.parent / f".{plots_dir.name}.images.{os.getpid()}.{secrets.token_hex(4)}"
    try:
        from mlops_ci.evaluation.images import write_images

        staging.mkdir(parents=True)
        drawn = write_images(dict(plots), staging, title=title)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, [Path(p) for p in drawn]


def write_outputs(
    evaluated: Evaluated,
    plan: Plan,
    *,
    metrics_path: Path,
    plots_dir: Path | None,
    images: bool,
    title: str | None,
    predictions: tuple[Path, Path] | None = None,
) -> list[Path]:
    """Write metrics.json, evaluation.json, the plot data and the images, and move
    *predictions* (``(its complete temporary file, its destination)``) into place with them,
    all or none; returns the paths written (the predictions' not included)."""
    texts = output_texts(evaluated, plan, metrics_path=metrics_path, plots_dir=plots_dir)
    staging: Path | None = None
    drawn: list[Path] = []
    if images and plots_dir is not None:
        staging, drawn = draw_images(evaluated.plots, plots_dir, title=title)
    try:
        staged = stage_texts(texts, replace_links=True)
        try:
            moves = [predictions] if predictions is not None else []
            if plots_dir is not None and drawn:
                _make_directory(plots_dir)
                moves += [(image, plots_dir / image.name) for image in drawn]
            replace_all([*moves, *((one.temporary, one.target) for one in staged)])
        finally:
            for one in staged:
                one.temporary.unlink(missing_ok=True)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return [*texts, *(plots_dir / image.name for image in drawn if plots_dir is not None)]


def _make_directory(plots_dir: Path) -> None:
    try:
        plots_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"Cannot write the images into {plots_dir}: {exc.strerror or exc}; choose a "
            "writable directory (--plots)."
        ) from None

