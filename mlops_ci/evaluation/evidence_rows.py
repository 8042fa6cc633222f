"""The accumulators of the gates' pass over predictions: one revision's, and the pair's.

:class:`Side` holds one revision's accumulators (all rows, each slice a gate names, and, read
alone, its bootstrap); :class:`Pair` the paired bootstrap and McNemar's test of base and head
on the same rows, whose targets (and ids) must agree row by row. A slice's rows are those whose
value is the gate's by ``slices.same_value``, the rule evaluate's slices use. numpy is imported
here; `mlops-ci --help` never imports this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlops_ci.config_evaluation import EvaluationConfig
from mlops_ci.evaluation.bootstrap import BootstrapAccumulator
from mlops_ci.evaluation.checks import python_label
from mlops_ci.evaluation.metrics import Accumulator, accumulator
from mlops_ci.evaluation.predictions import PROBA_PREFIX, PredictionsMeta, slice_column
from mlops_ci.evaluation.significance import McNemarAccumulator, PairedBootstrap, check_aligned
from mlops_ci.evaluation.slices import same_value

SliceKey = tuple[tuple[str, Any], ...]
SEEN = 50  # distinct values kept per slice column, for "the values found" in a message


def boot_labels(meta: PredictionsMeta) -> list[Any] | None:
    """The labels in the bootstrap's order: binary negative then positive."""
    if meta.labels is None:
        return None
    if meta.task == "binary" and meta.pos_label is not None:
        return [x for x in meta.labels if x != meta.pos_label] + [meta.pos_label]
    return list(meta.labels)


class Chunk:
    """A chunk of columns that zip_paired can count (its rows)."""

    def __init__(self, columns: dict[str, Any]):
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns["y_true"])


class Side:
    """One revision's accumulators: all rows, each named slice, and (alone) its bootstrap."""

    def __init__(
        self, meta: PredictionsMeta, ev: EvaluationConfig, keys: Sequence[SliceKey], *,
        bootstrap: bool,
    ) -> None:
        self.meta = meta
        self.overall = self._fresh()
        self.boot: BootstrapAccumulator | None = None
        labels = boot_labels(meta)
        if bootstrap and not (meta.task == "multiclass" and labels is None):
            self.boot = BootstrapAccumulator(
                meta.task, None, replicates=ev.replicates, seed=ev.seed, labels=labels
            )
        self.slices: dict[SliceKey, Accumulator] = {key: self._fresh() for key in keys}
        self.seen: dict[str, dict[Any, None]] = {}

    def part(self, key: SliceKey) -> Any:
        """The accumulator of the slice *key*, or of all rows for ``()``."""
        return self.slices[key] if key else self.overall

    def has_scores(self) -> bool:
        return bool(getattr(self.overall, "_has_scores", False))

    def _fresh(self) -> Accumulator:
        labels = None if self.meta.labels is None else list(self.meta.labels)
        return accumulator(self.meta.task, labels=labels, pos_label=self.meta.pos_label)

    def update(self, chunk: dict[str, Any], masks: dict[SliceKey, np.ndarray]) -> None:
        y, pred, score = chunk["y_true"], chunk["y_pred"], score_of(chunk, self.meta)
        self.overall.update(y, pred, score)
        if self.boot is not None:
            self.boot.update(y, pred)
        for key, acc in self.slices.items():
            rows = masks[key]
            if rows.any():
                acc.update(y[rows], pred[rows], None if score is None else score[rows])

    def masks(self, chunk: dict[str, Any]) -> dict[SliceKey, np.ndarray]:
        out = {}
        for key in self.slices:
            rows = np.ones(len(chunk["y_true"]), dtype=bool)
            for column, wanted in key:
                name = slice_column(column)
                if name not in chunk:  # the base's file has no such column: no row matches
                    rows[:] = False
                    continue
                rows &= self._match(column, chunk[name], wanted)
            out[key] = rows
        return out

    def _match(self, column: str, values: Any, wanted: Any) -> np.ndarray:
        import pandas

        codes, uniques = pandas.factorize(pandas.Series(values), use_na_sentinel=True)
        found = [python_label(v) for v in uniques]
        seen = self.seen.setdefault(column, {})
        for value in found[: SEEN - len(seen)] if len(seen) < SEEN else ():
            seen.setdefault(value, None)
        hits = [i for i, value in enumerate(found) if same_value(value, wanted)]
        rows = np.isin(codes, hits)
        if wanted is None:
            rows |= codes < 0
        return np.asarray(rows, dtype=bool)


def score_of(chunk: dict[str, Any], meta: PredictionsMeta) -> Any:
    if meta.task == "binary":
        return chunk.get("y_score")
    if meta.task == "multiclass" and meta.labels is not None:
        names = [f"{PROBA_PREFIX}{i}" for i in range(len(meta.labels))]
        if all(n in chunk for n in names):
            return np.column_stack([chunk[n] for n in names])
    return None


class Pair:
    """The paired accumulators of base and head on the same rows."""

    def __init__(
        self, meta: PredictionsMeta, ev: EvaluationConfig, tested: Sequence[SliceKey]
    ) -> None:
        labels = boot_labels(meta)

        def boot() -> PairedBootstrap:
            return PairedBootstrap(
                meta.task, None, replicates=ev.replicates, seed=ev.seed, labels=labels
            )

        self.boot = boot()
        self.mcnemar = McNemarAccumulator() if meta.task != "regression" else None
        self.slices = {
            key: (boot(), McNemarAccumulator() if meta.task != "regression" else None)
            for key in tested
        }
        self.ids = meta.id is not None
        self.rows = 0
        self.delong: dict[SliceKey, Any] = {}  # DeLong's tests, after their own pass

    def update(
        self, base: dict[str, Any], head: dict[str, Any], masks: dict[SliceKey, Any]
    ) -> None:
        check_aligned(base["y_true"], head["y_true"], column="y_true", first_row=self.rows)
        if self.ids:
            check_aligned(base["id"], head["id"], column="id", first_row=self.rows)
        y, b, h = head["y_true"], base["y_pred"], head["y_pred"]
        self.boot.update(y, b, h)
        if self.mcnemar is not None:
            self.mcnemar.update(y, b, h)
        for key, (paired, mcnemar) in self.slices.items():
            rows = masks[key]
            if rows.any():
                paired.update(y[rows], b[rows], h[rows])
                if mcnemar is not None:
                    mcnemar.update(y[rows], b[rows], h[rows])
        self.rows += len(y)
