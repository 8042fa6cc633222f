"""Evaluate a table of targets and predictions in chunks: metrics, slices and plot data.

The file (CSV or parquet) is read a chunk at a time with only the columns the evaluation
needs (``predict_chunks.read_chunks``), so peak memory is one chunk plus the accumulators'
statistics whatever the number of rows. The result equals scikit-learn's on the whole table.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.evaluation.curves import Records, plots
from mlops_ci.evaluation.metrics import Accumulator, Columns, accumulator
from mlops_ci.evaluation.slices import SlicedAccumulators, specs
from mlops_ci.predict_chunks import column_names, read_chunks
from mlops_ci.security import special_file_problem

DEFAULT_CHUNK_ROWS = 100_000


@dataclass
class EvaluationResult:
    """What :func:`evaluate_file` found; ``to_dict()`` is JSON-ready."""

    task: str
    rows: int
    metrics: dict[str, float]
    slices: list[dict[str, Any]]
    plots: dict[str, Records]
    accumulator: Accumulator = field(repr=False)
    sliced: SlicedAccumulators = field(repr=False)

    def slice_metrics(self, where: Mapping[str, Any]) -> dict[str, float]:
        """The metrics of one slice (``{"sex": "female"}``); no such slice → InputError."""
        return self.sliced.get(where).result()

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "rows": self.rows,
            "metrics": self.metrics,
            "slices": self.slices,
            "plots": self.plots,
        }


def check_columns(path: Path, present: list[str], needed: list[tuple[str, str]]) -> None:
    """Refuse the first (role, column) of *needed* not among *present*, with a "did you mean"."""
    for role, name in needed:
        if name not in present:
            folded = [c for c in present if c.casefold() == name.casefold()]
            close = folded or difflib.get_close_matches(name, present, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            shown = ", ".join(repr(c) for c in present[:20]) or "none"
            raise InputError(f"{path} has no {role} column {name!r} (its columns: {shown}).{hint}")


def evaluate_file(
    path: Path,
    *,
    target: str,
    prediction: str,
    score: str | Sequence[str] | None = None,
    task: str,
    labels: Sequence[Any] | None = None,
    pos_label: Any = None,
    slices: Sequence[str | Sequence[str]] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_chunk: Callable[[int], None] | None = None,
) -> EvaluationResult:
    """The metrics of *prediction* against *target* over every row of *path*.

    *score* is the positive class's score column (binary) or one probability column per
    declared label (multiclass). *slices* are slice specs (``"sex"`` or
    ``("sex", "age")``). *on_chunk* is called with each chunk's row count.
    """
    path = Path(path)
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be at least 1, not {chunk_rows}.")
    problem = special_file_problem(path)
    if problem:
        raise InputError(f"The input {path} {problem}; give a regular file.")
    score_columns = [score] if isinstance(score, str) else list(score or ())
    if task == "binary" and len(score_columns) > 1:
        raise InputError("A binary task takes one score column, the positive class's.")
    slice_specs = specs(slices)
    needed = [("target", target), ("prediction", prediction)]
    needed += [("score", name) for name in score_columns]
    needed += [("slice", name) for spec in slice_specs for name in spec]
    check_columns(path, column_names(path), needed)
    columns = Columns(target, prediction, score if score is not None else "y_score")

    def make() -> Accumulator:
        return accumulator(task, labels=labels, pos_label=pos_label, columns=columns)

    overall = make()
    sliced = SlicedAccumulators(make, slice_specs)
    wanted = list(dict.fromkeys([target, prediction, *score_columns, *sliced.columns]))
    for chunk in read_chunks(path, chunk_rows, wanted):
        if len(chunk) == 0:  # a header-only CSV reads as one empty chunk
            continue
        y_score: Any = None
        if task == "binary" and score_columns:
            y_score = chunk[score_columns[0]].to_numpy()
        elif score_columns:
            y_score = chunk[score_columns].to_numpy()
        y_true, y_pred = chunk[target].to_numpy(), chunk[prediction].to_numpy()
        overall.update(y_true, y_pred, y_score)
        by = {name: chunk[name].to_numpy() for name in sliced.columns}
        sliced.update(by, y_true, y_pred, y_score)
        if on_chunk is not None:
            on_chunk(len(chunk))
    if overall.rows == 0:
        raise InputError(f"{path} has a header but no rows; give a table with rows to evaluate.")
    return EvaluationResult(
        task=task,
        rows=overall.rows,
        metrics=overall.result(),
        slices=sliced.results(),
        plots=plots(overall),
        accumulator=overall,
        sliced=sliced,
    )
