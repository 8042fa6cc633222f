"""95 % intervals of evaluation metrics by a streaming Poisson bootstrap.

Replicate *b*'s metric is the metric of the rows reweighted by Poisson(1) weights
(``poisson.py``). Only weighted sufficient statistics are kept, so memory does not grow with
the number of rows:

- classification: a table of counts of the (target, prediction) cells; a cell of n rows
  gets one Poisson(n) weight per replicate, exactly the per-row bootstrap;
- regression: six sums per random group of rows (``sufficient.GroupSums``); each group gets
  one Poisson(1) weight per replicate, the random-group bootstrap, which is the per-row one
  when there are at most G rows (docs/evaluation.md says why it is valid beyond).

The rows may come in chunks of any size: the same seed gives the same intervals, bit for bit,
for every way of chunking the same rows. The metrics themselves are ``formulas.py``'s,
applied to the B replicate statistics at once.

Rank metrics (ROC AUC, average precision) are not functions of counts or sums and are not
bootstrapped here. numpy is imported here; this module is never imported by ``mlops-ci --help``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops_ci.errors import InputError
from mlops_ci.evaluation import formulas, poisson
from mlops_ci.evaluation.sufficient import CellCounts, GroupSums, LabelCodes, shown

TASKS = ("binary", "multiclass", "regression")
DEFAULT_REPLICATES = 1000
MIN_REPLICATES = 100
PIECE_ROWS = 1 << 16  # a regression chunk is turned into sums this many rows at a time
RANK_METRICS = frozenset({"roc_auc", "auc", "average_precision", "pr_auc", "log_loss"})


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval at *level* around the point *estimate*."""

    low: float
    high: float
    estimate: float
    level: float = 0.95

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


def check_task(task: str) -> str:
    if task not in TASKS:
        raise InputError(f"Unknown task {task!r}; give one of {', '.join(TASKS)}.")
    return task


def check_replicates(replicates: int) -> int:
    if isinstance(replicates, bool) or not isinstance(replicates, int):
        raise InputError(f"replicates must be a whole number, not {replicates!r}.")
    if replicates < MIN_REPLICATES:
        raise InputError(
            f"replicates is {replicates}: a bootstrap needs at least {MIN_REPLICATES} "
            f"replicates for a 95 % interval; use {DEFAULT_REPLICATES}."
        )
    return replicates


def check_groups(groups: int) -> int:
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < poisson.MIN_GROUPS:
        raise InputError(
            f"groups must be a whole number >= {poisson.MIN_GROUPS}, not {groups!r}; "
            f"use {poisson.GROUPS}."
        )
    return groups


def check_level(level: float) -> float:
    if not isinstance(level, (int, float)) or not 0.0 < float(level) < 1.0:
        raise InputError(
            f"The interval level must be between 0 and 1 (0.95 for 95 %), not {level!r}."
        )
    return float(level)


def metric_names(task: str) -> tuple[str, ...]:
    """The metrics a task's bootstrap computes, in ``formulas.py``'s order."""
    check_task(task)
    one = np.ones(1)
    if task == "binary":
        names = formulas.binary_from_counts(one, one, one, one)
    elif task == "multiclass":
        names = formulas.multiclass_from_confusion(np.ones((2, 2)))
    else:
        names = formulas.regression_from_sums(one, one, one, one, one, one)
    return tuple(names)


def check_metrics(task: str, metrics: Sequence[str] | None) -> tuple[str, ...]:
    known = metric_names(task)
    if metrics is None:
        return known
    if isinstance(metrics, str):
        metrics = [metrics]
    for name in metrics:
        if name in RANK_METRICS:
            raise InputError(
                f"{name} is a rank metric, not a function of counts, and has no bootstrap "
                f"interval here; choose among {', '.join(known)}."
            )
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InputError(
                f"Unknown {task} metric {name!r}.{hint} Choose among {', '.join(known)}."
            )
    if not metrics:
        raise InputError(f"Name at least one metric; choose among {', '.join(known)}.")
    return tuple(dict.fromkeys(metrics))


def percentile_interval(replicates: np.ndarray, estimate: float, level: float) -> Interval:
    """The percentile interval of *replicates* (their finite values) at *level*."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return Interval(math.nan, math.nan, float(estimate), level)
    low, high = np.quantile(finite, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return Interval(float(low), float(high), float(estimate), level)


def _column(values: Any, column: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(
            f"{column} must be one column of values, not an array of shape {array.shape}."
        )
    return array


def _classification(task: str, cm: np.ndarray) -> dict[str, np.ndarray]:
    if task == "binary":
        return formulas.binary_from_counts(
            cm[..., 1, 1], cm[..., 0, 1], cm[..., 1, 0], cm[..., 0, 0]
        )
    return formulas.multiclass_from_confusion(cm)


class Resampler:
    """The streaming bootstrap of one or more models scored on the same rows.

    All models share each row's weights: with two, that is what pairs base and head.
    """

    def __init__(
        self,
        task: str,
        metrics: Sequence[str] | None,
        *,
        replicates: int,
        seed: int,
        labels: Sequence[Any] | None,
        models: int,
        groups: int = poisson.GROUPS,
    ):
        self.task = check_task(task)
        self.metrics = check_metrics(task, metrics)
        self.replicates = check_replicates(replicates)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InputError(f"The bootstrap seed must be a whole number >= 0, not {seed!r}.")
        self.seed, self.models, self.rows = seed, models, 0
        self.groups = check_groups(groups)  # of rows, for sums (regression)
        self._codes: LabelCodes | None = None
        self._shift: float | None = None
        if task == "regression":
            if labels is not None:
                raise InputError(
                    "Class labels apply to classification; leave them out for regression."
                )
            self._sums = GroupSums(3 + 3 * models, seed, replicates, self.groups)
            self._ones = np.ones(PIECE_ROWS)
        else:
            if labels is None and task == "multiclass":
                raise InputError(
                    "A multiclass bootstrap needs the class labels; pass labels=[...]."
                )
            self._codes = LabelCodes([0, 1] if labels is None else labels)
            if task == "binary" and self._codes.labels.size != 2:
                raise InputError(
                    "A binary task has two labels (negative, positive), "
                    f"not {list(labels or [])!r}."
                )
            self._cells = CellCounts(self._codes.labels.size, models)

    def update(self, y_true: Any, predictions: Sequence[Any], names: Sequence[str]) -> None:
        columns = [_column(y_true, "y_true")] + [
            _column(p, name) for p, name in zip(predictions, names, strict=True)
        ]
        for column, name in zip(columns[1:], names, strict=True):
            if column.size != columns[0].size:
                raise InputError(
                    f"{name} has {column.size} rows but y_true has {columns[0].size} in this "
                    "chunk; give one prediction per row."
                )
        if columns[0].size == 0:
            return
        if self._codes is not None:
            all_names = ["y_true", *names]
            self._cells.add(
                [
                    self._codes.encode(c, n, self.rows)
                    for c, n in zip(columns, all_names, strict=True)
                ]
            )
        else:
            self._add_regression(self._regression_numbers(columns, ["y_true", *names]))
        self.rows += columns[0].size

    def _regression_numbers(self, columns: list[np.ndarray], names: list[str]) -> list[np.ndarray]:
        numbers = []
        for column, name in zip(columns, names, strict=True):
            try:
                values = np.asarray(column, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InputError(f"{name} must hold numbers for a regression task.") from exc
            with np.errstate(over="ignore"):  # a sum of huge numbers may overflow: look closer
                total = np.add.reduce(values)
            if not np.isfinite(total):  # one pass; NaN and inf carry through a sum
                bad = np.flatnonzero(~np.isfinite(values))
                if bad.size:
                    raise InputError(
                        f"{name} holds {shown(column[bad[0]])} at row "
                        f"{self.rows + int(bad[0])}; drop or fill the missing values first."
                    )
            numbers.append(values)
        return numbers

    def _add_regression(self, numbers: list[np.ndarray]) -> None:
        if self._shift is None:  # R² does not change with a shift of y; it keeps sums accurate
            self._shift = float(numbers[0][0])
        for start in range(0, numbers[0].size, PIECE_ROWS):  # a piece's columns stay in cache
            y_true = numbers[0][start : start + PIECE_ROWS]
            y = y_true - self._shift
            parts = [self._ones[: y.size], y, y * y]
            for prediction in numbers[1:]:
                err = prediction[start : start + PIECE_ROWS] - y_true
                parts += [err, np.abs(err), err * err]
            self._sums.add(parts)

    def values(self) -> list[tuple[dict[str, float], dict[str, np.ndarray]]]:
        """Per model, each metric's point estimate and its B replicate values."""
        if self.rows == 0:
            raise InputError("There are no rows to evaluate; give at least one row.")
        out = []
        with np.errstate(all="ignore"):
            if self._codes is not None:
                for point_cm, reps_cm in self._cells.confusions(self.seed, self.replicates):
                    out.append(
                        (_classification(self.task, point_cm), _classification(self.task, reps_cm))
                    )
            else:
                plain, weighted = self._sums.totals()
                for model in range(self.models):
                    cols = (0, 3 + 3 * model, 4 + 3 * model, 5 + 3 * model, 1, 2)
                    point = formulas.regression_from_sums(*(plain[c] for c in cols))
                    reps = formulas.regression_from_sums(*(weighted[:, c] for c in cols))
                    out.append((point, reps))
        return [
            (
                {m: float(point[m]) for m in self.metrics},
                {m: np.asarray(reps[m]) for m in self.metrics},
            )
            for point, reps in out
        ]


class BootstrapAccumulator:
    """Streaming percentile intervals of one model's metrics.

    ``task`` is ``binary`` (labels: negative then positive, default ``(0, 1)``), ``multiclass``
    (labels required: every class, in the confusion matrix's order) or ``regression``.
    ``metrics`` defaults to every metric of the task (``metric_names``).
    """

    def __init__(
        self,
        task: str,
        metrics: Sequence[str] | None = None,
        replicates: int = DEFAULT_REPLICATES,
        seed: int = 0,
        labels: Sequence[Any] | None = None,
        *,
        groups: int = poisson.GROUPS,
    ):
        self._resampler = Resampler(
            task,
            metrics,
            replicates=replicates,
            seed=seed,
            labels=labels,
            models=1,
            groups=groups,
        )

    @property
    def rows(self) -> int:
        return self._resampler.rows

    def update(self, y_true: Any, y_pred: Any) -> None:
        """Add a chunk of rows: the targets and the model's predictions, one per row."""
        self._resampler.update(y_true, [y_pred], ["y_pred"])

    def replicate_values(self) -> dict[str, np.ndarray]:
        """Each metric's B bootstrap replicate values."""
        return self._resampler.values()[0][1]

    def intervals(self, level: float = 0.95) -> dict[str, Interval]:
        """Each metric's percentile interval at *level* and its point estimate."""
        level = check_level(level)
        ((point, reps),) = self._resampler.values()
        return {m: percentile_interval(reps[m], point[m], level) for m in point}
