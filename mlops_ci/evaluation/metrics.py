"""Streaming metric accumulators, one per task: feed chunks, read scikit-learn's metrics.

``update(y_true, y_pred, y_score=None)`` takes one chunk (array-likes of equal length);
``result()`` returns the metrics of every row seen, as floats. The accumulators keep
sufficient statistics only — confusion counts, sums, and for scores the counts at each
distinct score (``ranking.py``) — so memory does not grow with the number of rows (beyond
O(distinct scores) for the rank metrics), and the results equal scikit-learn's on all rows at
once: exactly for the counting metrics, to rounding for sums and rank metrics.

Class labels are the declared ``labels`` when given (any other label is an
:class:`~mlops_ci.errors.InputError` naming it), else learned as rows arrive.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlops_ci.errors import InputError
from mlops_ci.evaluation.blocks import BlockSums
from mlops_ci.evaluation.checks import Labels, column, label_text, numbers
from mlops_ci.evaluation.formulas import (
    binary_from_counts,
    multiclass_from_confusion,
    regression_from_sums,
)
from mlops_ci.evaluation.histogram import Histogram
from mlops_ci.evaluation.ranking import ScoreCounts

CALIBRATION_BINS = 10
EPS = float(np.finfo(np.float64).eps)  # log_loss clips probabilities to [eps, 1 - eps]


@dataclass(frozen=True)
class Columns:
    """The column names the accumulators' errors name."""

    target: str = "y_true"
    prediction: str = "y_pred"
    score: str | Sequence[str] = "y_score"

    def score_text(self) -> str:
        return self.score if isinstance(self.score, str) else ", ".join(self.score)


class _Accumulator:
    task = ""

    def __init__(self, columns: Columns | None) -> None:
        self.columns = columns or Columns()
        self.rows = 0
        self._has_scores: bool | None = None

    def _start(self, y_true: Any, y_pred: Any, y_score: Any) -> tuple[Any, Any]:
        """Check a chunk's shape; returns (y_true, y_pred) as 1-d arrays (not yet checked)."""
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if len(y_true) != len(y_pred) or (y_score is not None and len(y_score) != len(y_true)):
            raise InputError(
                f"The columns {self.columns.target!r} and {self.columns.prediction!r} (and the "
                "scores) of one chunk must have the same number of rows."
            )
        has = y_score is not None
        if self._has_scores is not None and has != self._has_scores:
            raise InputError(
                f"Scores ({self.columns.score_text()}) must be given for every chunk or for none."
            )
        self._has_scores = has
        return y_true, y_pred

    def _require_rows(self) -> None:
        if self.rows == 0:
            raise InputError(
                f"No rows to evaluate: the input is empty; give a table with at least one row "
                f"of {self.columns.target!r} and {self.columns.prediction!r}."
            )


def _floats(values: dict[str, np.ndarray]) -> dict[str, float]:
    return {name: float(value) for name, value in values.items()}


class BinaryAccumulator(_Accumulator):
    """Binary classification; *y_score* is the score (probability) of the positive class.

    The positive label is *pos_label*, else the second declared label, else 1 (as
    scikit-learn's ``pos_label=1``); labels that are text need one of the first two. The scores
    are taken as probabilities (log loss, Brier, calibration) when every one lies in [0, 1],
    unless *decision_scores* says they are a decision function's, whatever their range.
    """

    task = "binary"

    def __init__(
        self,
        *,
        labels: Sequence[Any] | None = None,
        pos_label: Any = None,
        columns: Columns | None = None,
        decision_scores: bool = False,
    ) -> None:
        super().__init__(columns)
        self.labels = Labels(labels, limit=2)
        if pos_label is None:
            pos_label = self.labels.items[-1] if len(self.labels) == 2 else 1
        self.pos_label: Hashable = pos_label
        if labels is not None and pos_label not in self.labels.index:
            raise InputError(
                f"The positive label {label_text(pos_label)} is not among the declared labels."
            )
        self.counts = np.zeros(4, dtype=np.int64)  # tp, fp, fn, tn
        self.scores = ScoreCounts()
        self.probabilities = not decision_scores  # every score so far in [0, 1]
        # log loss, Brier and each calibration bin's score: float sums in fixed blocks of rows
        self._sums = BlockSums(4, 2 + CALIBRATION_BINS, _binary_block)
        self.bin_count = np.zeros(CALIBRATION_BINS, dtype=np.int64)
        self.bin_positive = np.zeros(CALIBRATION_BINS, dtype=np.int64)

    @property
    def log_loss_sum(self) -> float:
        return float(self._sums.totals()[0])

    @property
    def brier_sum(self) -> float:
        return float(self._sums.totals()[1])

    @property
    def bin_score(self) -> np.ndarray:
        """The sum of the scores in each calibration bin."""
        return self._sums.totals()[2:]

    def _positive(self, values: np.ndarray, name: str) -> np.ndarray:
        codes = self.labels.encode(values, name, self.rows + 1)
        pos_code = self.labels.index.get(self.pos_label)
        if pos_code is None and (
            len(self.labels) == 2 or any(not _numeric(x) for x in self.labels.items)
        ):
            found = ", ".join(label_text(x) for x in self.labels.items)
            raise InputError(
                f"Column {name!r} holds the labels {found}, and none is the positive label "
                f"{label_text(self.pos_label)}; declare the labels [negative, positive]."
            )
        return codes == pos_code if pos_code is not None else np.zeros(len(codes), dtype=bool)

    def update(self, y_true: Any, y_pred: Any, y_score: Any = None) -> None:
        y_true, y_pred = self._start(y_true, y_pred, y_score)
        if len(y_true) == 0:
            return
        first = self.rows + 1
        truth = self._positive(column(y_true, self.columns.target, first), self.columns.target)
        guess = self._positive(
            column(y_pred, self.columns.prediction, first), self.columns.prediction
        )
        if y_score is not None:
            assert isinstance(self.columns.score, str)
            self._update_scores(numbers(y_score, self.columns.score, first), truth)
        self.counts += [
            np.count_nonzero(truth & guess),
            np.count_nonzero(~truth & guess),
            np.count_nonzero(truth & ~guess),
            np.count_nonzero(~truth & ~guess),
        ]
        self.rows += len(truth)

    def _update_scores(self, score: np.ndarray, truth: np.ndarray) -> None:
        self.scores.update(score, truth)
        if score.min() < 0.0 or score.max() > 1.0:
            self.probabilities = False
        p_true = np.clip(np.where(truth, score, 1.0 - score), EPS, 1.0 - EPS)
        bins = np.searchsorted(np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)[1:-1], score)
        self._sums.add([-np.log(p_true), (score - truth) ** 2, score, bins.astype(np.float64)])
        self.bin_count += np.bincount(bins, minlength=CALIBRATION_BINS)
        self.bin_positive += np.bincount(bins, weights=truth, minlength=CALIBRATION_BINS).astype(
            np.int64
        )

    def result(self) -> dict[str, float]:
        """accuracy, precision, recall, f1, specificity, balanced_accuracy, mcc; with scores
        roc_auc (left out when y_true has one class) and average_precision (left out without
        positives), and log_loss and brier when every score is a probability."""
        self._require_rows()
        out = _floats(binary_from_counts(*self.counts))
        if self._has_scores:
            auc, ap = self.scores.roc_auc(), self.scores.average_precision()
            if auc is not None:
                out["roc_auc"] = auc
            if ap is not None:
                out["average_precision"] = ap
            if self.probabilities:
                out["log_loss"] = self.log_loss_sum / self.rows
                out["brier"] = self.brier_sum / self.rows
        out["rows"] = float(self.rows)
        return out

    def confusion(self) -> tuple[list[Hashable], np.ndarray]:
        """(labels, matrix) with rows true and columns predicted, negative label first."""
        tp, fp, fn, tn = (int(x) for x in self.counts)
        negative = [x for x in self.labels.items if x != self.pos_label][:1] or ["not positive"]
        return [negative[0], self.pos_label], np.array([[tn, fp], [fn, tp]])


def _binary_block(parts: Sequence[np.ndarray]) -> np.ndarray:
    """One block's log loss and Brier sums, then its scores summed per calibration bin."""
    log, brier, score, bins = parts
    per_bin = np.bincount(bins.astype(np.intp), weights=score, minlength=CALIBRATION_BINS)
    return np.concatenate([[log.sum(), brier.sum()], per_bin])


def _numeric(label: object) -> bool:
    return isinstance(label, (bool, int, float, np.number, np.bool_))


class MulticlassAccumulator(_Accumulator):
    """Multiclass classification; *y_score* is an (n, K) array of class probabilities whose
    columns are the declared labels, in their order (so probabilities need ``labels``)."""

    task = "multiclass"

    def __init__(self, *, labels: Sequence[Any] | None = None, columns: Columns | None = None):
        super().__init__(columns)
        self.labels = Labels(labels)
        self.matrix = np.zeros((len(self.labels), len(self.labels)), dtype=np.int64)
        self._log = BlockSums(1, 1)  # in fixed blocks of rows, whatever the chunks

    @property
    def log_loss_sum(self) -> float:
        return float(self._log.totals()[0])

    def update(self, y_true: Any, y_pred: Any, y_score: Any = None) -> None:
        y_true, y_pred = self._start(y_true, y_pred, y_score)
        if len(y_true) == 0:
            return
        first = self.rows + 1
        truth = self.labels.encode(
            column(y_true, self.columns.target, first), self.columns.target, first
        )
        guess = self.labels.encode(
            column(y_pred, self.columns.prediction, first), self.columns.prediction, first
        )
        if y_score is not None:
            self._update_scores(y_score, truth, first)
        k = len(self.labels)
        if k > len(self.matrix):
            grown = np.zeros((k, k), dtype=np.int64)
            grown[: len(self.matrix), : len(self.matrix)] = self.matrix
            self.matrix = grown
        self.matrix += np.bincount(truth * k + guess, minlength=k * k).reshape(k, k)
        self.rows += len(truth)

    def _update_scores(self, y_score: Any, truth: np.ndarray, first: int) -> None:
        if not self.labels.declared:
            raise InputError(
                "Class probabilities need the declared labels, one per probability column "
                f"({self.columns.score_text()}), in the same order."
            )
        scores = np.asarray(y_score)
        names = [self.columns.score] if isinstance(self.columns.score, str) else self.columns.score
        if scores.ndim != 2 or scores.shape[1] != len(self.labels):
            raise InputError(
                f"Class probabilities must have one column per declared label "
                f"({len(self.labels)}), not shape {scores.shape}."
            )
        for j in range(scores.shape[1]):
            numbers(scores[:, j], str(names[j]) if j < len(names) else f"score {j}", first)
        picked = scores[np.arange(len(truth)), truth].astype(np.float64)
        self._log.add([-np.log(np.clip(picked, EPS, 1.0 - EPS))])

    def result(self) -> dict[str, float]:
        """accuracy, macro_/weighted_ precision, recall and f1; log_loss with probabilities."""
        self._require_rows()
        out = _floats(multiclass_from_confusion(self.matrix))
        if self._has_scores:
            out["log_loss"] = self.log_loss_sum / self.rows
        out["rows"] = float(self.rows)
        return out

    def confusion(self) -> tuple[list[Hashable], np.ndarray]:
        """(labels, matrix), rows true and columns predicted, labels sorted (or as declared)."""
        order = self.labels.sorted_order()
        k = len(self.labels)
        matrix = np.zeros((k, k), dtype=np.int64)
        matrix[: len(self.matrix), : len(self.matrix)] = self.matrix
        return [self.labels.items[i] for i in order], matrix[np.ix_(order, order)]


class RegressionAccumulator(_Accumulator):
    """Regression: mae, mse, rmse, r2 and mean_error (the mean of ``y_pred - y_true``)."""

    task = "regression"

    def __init__(self, *, columns: Columns | None = None) -> None:
        super().__init__(columns)
        self.shift: float | None = None  # the first target: sums of y - shift keep r2 accurate
        # err, |err|, err², y - shift, (y - shift)²: in fixed blocks of rows, whatever the chunks
        self._sums = BlockSums(5, 5)
        self.errors = Histogram()

    def update(self, y_true: Any, y_pred: Any, y_score: Any = None) -> None:
        if y_score is not None:
            raise InputError("A regression has no scores; leave the score column out.")
        y_true, y_pred = self._start(y_true, y_pred, None)
        if len(y_true) == 0:
            return
        first = self.rows + 1
        truth = numbers(y_true, self.columns.target, first)
        guess = numbers(y_pred, self.columns.prediction, first)
        if self.shift is None:
            self.shift = float(truth[0])
        with np.errstate(over="ignore", invalid="ignore"):
            err = guess - truth
            centred = truth - self.shift
            squares = (err * err, centred * centred)
            sums = self.sums + np.array(
                [err.sum(), np.abs(err).sum(), squares[0].sum(), centred.sum(), squares[1].sum()]
            )
        if not np.isfinite(sums).all():
            self._overflow(squares, truth, guess, first)
        self._sums.add([err, np.abs(err), squares[0], centred, squares[1]])
        self.errors.update(err)
        self.rows += len(truth)

    @property
    def sums(self) -> np.ndarray:
        return self._sums.totals()

    def _overflow(
        self, squares: tuple[np.ndarray, np.ndarray], truth: np.ndarray, guess: np.ndarray,
        first: int,
    ) -> None:
        """The InputError of values so large that the sums of squares leave float64's range."""
        huge = ~np.isfinite(squares[0]) | ~np.isfinite(squares[1])
        where = ""
        if huge.any():
            i = int(np.argmax(huge))
            where = (f" (row {first + i}: {self.columns.target} {truth[i]:.6g}, "
                     f"{self.columns.prediction} {guess[i]:.6g})")
        raise InputError(
            f"The values of {self.columns.target!r} and {self.columns.prediction!r} are too "
            f"large{where}: their squares overflow a float64, so mse, rmse and r2 cannot be "
            "computed; rescale the target (say, to thousands or millions) before "
            "training and evaluating."
        )

    def result(self) -> dict[str, float]:
        self._require_rows()
        s = self.sums
        if not np.isfinite(s).all():  # the blocks' totals, at the edge of float64's range
            empty = np.zeros(0)
            self._overflow((empty, empty), empty, empty, self.rows)
        out = _floats(regression_from_sums(self.rows, s[0], s[1], s[2], s[3], s[4]))
        out["rows"] = float(self.rows)
        return out


Accumulator = BinaryAccumulator | MulticlassAccumulator | RegressionAccumulator
TASKS = ("binary", "multiclass", "regression")


def accumulator(
    task: str,
    *,
    labels: Sequence[Any] | None = None,
    pos_label: Any = None,
    columns: Columns | None = None,
    decision_scores: bool = False,
) -> Accumulator:
    """A fresh accumulator for *task* (one of TASKS); *decision_scores*: a binary task's scores
    are a decision function's, never probabilities (see :class:`BinaryAccumulator`)."""
    if task == "binary":
        return BinaryAccumulator(
            labels=labels, pos_label=pos_label, columns=columns, decision_scores=decision_scores
        )
    if task == "multiclass":
        return MulticlassAccumulator(labels=labels, columns=columns)
    if task == "regression":
        if labels is not None:
            raise InputError("A regression has no class labels; leave `labels` out.")
        return RegressionAccumulator(columns=columns)
    raise InputError(f"Unknown task {task!r}; use one of {', '.join(TASKS)}.")
