"""Is the head's metric really different from the base's? Paired tests on the same rows.

- McNemar's test, exactly: of the rows where base and head disagree on correctness, *b* where
  only the base is right and *c* where only the head is, a two-sided exact binomial test of
  *b* out of *b + c* against 1/2. Only the two counts accumulate.
- The paired bootstrap of the difference head - base of any counting metric: both models'
  statistics are weighted with the SAME Poisson weights (``bootstrap.Resampler``: per cell of
  (target, base, head), or per random group of rows for a regression), so the replicates of
  the difference carry the pairing; its percentile interval and a two-sided
  p-value (the share of replicates on the other side of 0, +1 corrected).
- :func:`judge` turns either into "significant" or "within noise", with the direction.

Rows are matched by position; with an id column, :func:`check_aligned` proves it chunk by chunk.
numpy and scipy are imported here; this module is never imported by ``mlops-ci --help``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

from mlops_ci.errors import InputError
from mlops_ci.evaluation.bootstrap import (
    DEFAULT_REPLICATES,
    Interval,
    Resampler,
    check_level,
    percentile_interval,
)
from mlops_ci.evaluation.poisson import GROUPS
from mlops_ci.evaluation.sufficient import shown

Significance = Literal["significant", "within noise"]
Direction = Literal["higher", "lower", "unchanged", "unknown"]
Chunk = TypeVar("Chunk", bound=Sized)


def check_alpha(alpha: float) -> float:
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, (int, float))
        or not 0.0 < float(alpha) < 1.0
    ):
        raise InputError(f"alpha must be between 0 and 1 (0.05 is usual), not {alpha!r}.")
    return float(alpha)


def _length(values: Any) -> int:
    return int(np.asarray(values).shape[0]) if np.ndim(values) else 0


def check_aligned(base: Any, head: Any, *, column: str, first_row: int = 0) -> None:
    """Raise unless the base's and the head's *column* (ids, or the target) agree row by row."""
    base, head = np.asarray(base), np.asarray(head)
    if base.shape != head.shape:
        raise InputError(
            f"The base has {_length(base)} rows and the head {_length(head)} from row {first_row}; "
            "a paired test needs both scored on the same rows."
        )
    differ = np.flatnonzero(base != head)
    if differ.size:
        row = int(differ[0])
        raise InputError(
            f"Row {first_row + row} is {shown(base[row])} in the base's {column} but "
            f"{shown(head[row])} in "
            "the head's: the rows are not aligned. Score both revisions on the same rows in the "
            "same order."
        )


def zip_paired(base: Iterable[Chunk], head: Iterable[Chunk]) -> Iterator[tuple[Chunk, Chunk]]:
    """The base's and the head's chunks side by side; an error when one has more rows."""
    rows = 0
    base_iter, head_iter = iter(base), iter(head)
    while True:
        b, h = next(base_iter, None), next(head_iter, None)
        if b is None and h is None:
            return
        if b is None or h is None:
            more = "head" if b is None else "base"
            raise InputError(
                f"The {more} has more rows than the other, which ends after {rows} rows: "
                "base and head must be scored on the same rows."
            )
        if len(b) != len(h):
            raise InputError(
                f"From row {rows} the base has a chunk of {len(b)} rows and the head one of "
                f"{len(h)}: read both with the same chunk size."
            )
        rows += len(b)
        yield b, h


@dataclass(frozen=True)
class McNemarResult:
    """*b*: rows only the base gets right; *c*: rows only the head gets right."""

    b: int
    c: int
    rows: int
    p_value: float

    @property
    def difference(self) -> float:
        """The head's accuracy minus the base's."""
        return (self.c - self.b) / self.rows if self.rows else 0.0


def mcnemar_exact(b: int, c: int) -> float:
    """The two-sided exact McNemar p-value of the discordant counts *b* and *c*."""
    if b < 0 or c < 0:
        raise InputError(f"Discordant counts are never negative (b={b}, c={c}).")
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(int(b), int(b + c), 0.5).pvalue)


class McNemarAccumulator:
    """Streaming exact McNemar test of base and head on the same rows."""

    def __init__(self) -> None:
        self.b = self.c = self.rows = 0

    def update_correct(self, base_correct: Any, head_correct: Any) -> None:
        """Add a chunk of per-row correctness (booleans) of base and head."""
        base, head = np.asarray(base_correct, dtype=bool), np.asarray(head_correct, dtype=bool)
        if base.shape != head.shape or base.ndim != 1:
            raise InputError(
                f"The base has {_length(base)} rows and the head {_length(head)} from row "
                f"{self.rows}; a paired test needs both scored on the same rows."
            )
        self.b += int(np.count_nonzero(base & ~head))
        self.c += int(np.count_nonzero(~base & head))
        self.rows += base.size

    def update(
        self,
        y_true: Any,
        base_pred: Any,
        head_pred: Any,
        *,
        base_ids: Any = None,
        head_ids: Any = None,
    ) -> None:
        """Add a chunk of rows: the targets and each model's predicted labels."""
        y = np.asarray(y_true)
        _check_chunk(y, base_pred, head_pred, base_ids, head_ids, self.rows)
        missing = np.flatnonzero(y != y)  # NaN, also inside an object column
        if missing.size:
            raise InputError(
                f"y_true is missing at row {self.rows + int(missing[0])}; drop the rows without "
                "a target first."
            )
        self.update_correct(np.asarray(base_pred) == y, np.asarray(head_pred) == y)

    def result(self) -> McNemarResult:
        if self.rows == 0:
            raise InputError("There are no rows to compare; give at least one row.")
        return McNemarResult(self.b, self.c, self.rows, mcnemar_exact(self.b, self.c))


def _check_chunk(
    y_true: Any, base_pred: Any, head_pred: Any, base_ids: Any, head_ids: Any, first_row: int
) -> None:
    n = _length(y_true)
    for name, values in (("base", base_pred), ("head", head_pred)):
        if _length(values) != n:
            raise InputError(
                f"The {name} has {_length(values)} predictions for {n} rows from row {first_row}; "
                "a paired test needs both scored on the same rows."
            )
    if (base_ids is None) != (head_ids is None):
        raise InputError("Give the id column of both the base and the head, or of neither.")
    if base_ids is not None:
        if _length(base_ids) != n:
            raise InputError(f"The id column has {_length(base_ids)} values for {n} rows.")
        check_aligned(base_ids, head_ids, column="id", first_row=first_row)


@dataclass(frozen=True)
class PairedResult:
    """The head - base difference of one metric: its interval, p-value, and each side's."""

    difference: Interval
    p_value: float
    base: Interval
    head: Interval


def bootstrap_p_value(differences: np.ndarray, observed: float) -> float:
    """Two-sided: twice the share of replicates on the other side of 0 (or at 0), +1 corrected."""
    if observed == 0:
        return 1.0
    finite = differences[np.isfinite(differences)]
    other = np.count_nonzero(finite <= 0) if observed > 0 else np.count_nonzero(finite >= 0)
    return float(min(1.0, 2.0 * (other + 1) / (finite.size + 1)))


class PairedBootstrap:
    """Streaming paired Poisson bootstrap of head - base for counting metrics."""

    def __init__(
        self,
        task: str,
        metrics: Sequence[str] | None = None,
        replicates: int = DEFAULT_REPLICATES,
        seed: int = 0,
        labels: Sequence[Any] | None = None,
        *,
        groups: int = GROUPS,
    ):
        self._resampler = Resampler(
            task,
            metrics,
            replicates=replicates,
            seed=seed,
            labels=labels,
            models=2,
            groups=groups,
        )

    @property
    def rows(self) -> int:
        return self._resampler.rows

    def update(
        self,
        y_true: Any,
        base_pred: Any,
        head_pred: Any,
        *,
        base_ids: Any = None,
        head_ids: Any = None,
    ) -> None:
        """Add a chunk of rows: the targets and both models' predictions on them."""
        _check_chunk(y_true, base_pred, head_pred, base_ids, head_ids, self.rows)
        self._resampler.update(y_true, [base_pred, head_pred], ["base_pred", "head_pred"])

    def results(self, level: float = 0.95) -> dict[str, PairedResult]:
        level = check_level(level)
        (base_point, base_reps), (head_point, head_reps) = self._resampler.values()
        out = {}
        for m in base_point:
            observed = head_point[m] - base_point[m]
            differences = head_reps[m] - base_reps[m]
            out[m] = PairedResult(
                difference=percentile_interval(differences, observed, level),
                p_value=bootstrap_p_value(differences, observed),
                base=percentile_interval(base_reps[m], base_point[m], level),
                head=percentile_interval(head_reps[m], head_point[m], level),
            )
        return out


@dataclass(frozen=True)
class Verdict:
    """Whether head - base is told apart from noise, and which way it went."""

    significance: Significance
    direction: Direction
    p_value: float | None
    interval: Interval | None


def _direction(value: float) -> Direction:
    return "higher" if value > 0 else "lower" if value < 0 else "unchanged"


def judge(evidence: McNemarResult | PairedResult | Interval | float, alpha: float) -> Verdict:
    """ "significant" when p < alpha (or, for a bare interval of head - base at level
    1 - alpha, when it excludes 0); otherwise "within noise". The direction is the head's
    against the base's: for McNemar, of accuracy; a bare p-value has none ("unknown")."""
    alpha = check_alpha(alpha)
    if isinstance(evidence, McNemarResult):
        p, interval, direction = evidence.p_value, None, _direction(evidence.c - evidence.b)
    elif isinstance(evidence, PairedResult):
        p, interval = evidence.p_value, evidence.difference
        direction = _direction(evidence.difference.estimate)
    elif isinstance(evidence, Interval):
        if not math.isclose(evidence.level, 1.0 - alpha, abs_tol=1e-9):
            raise InputError(
                f"The interval is at level {evidence.level:g} but alpha {alpha:g} needs level "
                f"{1.0 - alpha:g}; compute it with that level, or judge the p-value."
            )
        significant = not math.isnan(evidence.low) and not evidence.contains(0.0)
        return Verdict(
            "significant" if significant else "within noise",
            _direction(evidence.estimate),
            None,
            evidence,
        )
    elif isinstance(evidence, (int, float)) and not isinstance(evidence, bool):
        if not 0.0 <= float(evidence) <= 1.0:
            raise InputError(f"A p-value lies between 0 and 1, not {evidence!r}.")
        p, interval, direction = float(evidence), None, "unknown"
    else:
        raise InputError(f"Cannot judge {type(evidence).__name__}; give a test's result.")
    return Verdict("significant" if p < alpha else "within noise", direction, p, interval)
