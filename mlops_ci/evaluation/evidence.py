"""The evidence of the per-row predictions: one streaming pass over base and head, in lockstep.

The head's and the base's predictions files (``predictions_at.py`` found them) are read chunk by
chunk side by side (``significance.zip_paired``); the targets (and ids) must agree row by row,
or the paired tests are refused with the reason (a test set that changed between revisions).
One pass feeds the paired bootstrap of every counting metric of the task, McNemar's test, and
the accumulators of the slices the gates name; when the rows cannot be paired, each file is
read again on its own for its intervals and slice values. The result is pure data: intervals
per metric, :class:`~mlops_ci.gates_evidence.GateFacts` per gate, and the Report's
:class:`~mlops_ci.report.EvaluationInfo`. numpy is imported here; `mlops-ci --help` never is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlops_ci.compare import compare_metrics
from mlops_ci.config import Config, GateConfig
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.evaluation.bootstrap import Interval
from mlops_ci.evaluation.checks import label_text, python_label
from mlops_ci.evaluation.evidence_checks import (
    check_flat_columns,
    check_gates,
    slice_metric,
    where,
)
from mlops_ci.evaluation.evidence_rows import Chunk, Pair, Side, SliceKey, boot_labels
from mlops_ci.evaluation.predictions import (
    PROBA_PREFIX,
    PredictionsMeta,
    read_meta,
    read_prediction_chunks,
    slice_column,
)
from mlops_ci.evaluation.significance import zip_paired
from mlops_ci.gates_evidence import GateFacts, PairedFacts
from mlops_ci.report import EvaluationInfo, MetricDiff

MAX_CONFUSION_LABELS = 50  # the Report holds a confusion matrix of at most 50 classes
MAX_NOTE = 2000


@dataclass(frozen=True)
class BaseSide:
    """The base's predictions file, or why there is none (``declared``: the base has one)."""

    path: Path | None
    note: str | None = None
    declared: bool = False


@dataclass
class Evidence:
    info: EvaluationInfo
    metrics_file: str | None  # the metrics file the predictions were scored for
    intervals: dict[str, tuple[list[float] | None, list[float] | None]] = field(
        default_factory=dict
    )  # metric -> (head, base) at the confidence level
    facts: dict[int, GateFacts] = field(default_factory=dict)
    values: dict[str, tuple[float | None, float | None]] = field(
        default_factory=dict
    )  # metric -> (head, base) on all rows, as the predictions give them


def compute_evidence(
    config: Config, head: Path, base: BaseSide, metrics: Sequence[MetricDiff]
) -> Evidence:
    """Read *head* and *base* once (twice when they cannot be paired) and say what they show.

    A gate that cannot be judged from these files (a slice column the file does not have, a
    slice that matches no row, a metric the task lacks) is a ConfigError naming its line.
    """
    relative = config.evaluation.predictions
    meta = read_meta(head)
    slice_gates = [g for g in config.gates if g.evidence.slice]
    check_gates(config, meta, metrics, relative)
    keys = list(dict.fromkeys(tuple(g.evidence.slice or ()) for g in slice_gates))
    tested = list(dict.fromkeys(
        tuple(g.evidence.slice or ()) for g in slice_gates if g.evidence.test
    ))
    run = _Run(config, meta, keys, tested)
    run.head_path = head
    base_meta, note = run.base_meta(base)
    pair: Pair | None = None
    if base_meta is not None and note is None:
        pair, note, base_usable = run.lockstep(head, base.path, base_meta)
        if not base_usable:
            base_meta = None
        if pair is not None and base.path is not None:
            try:
                note = run.delong(head, base.path, base_meta, pair)
            except InputError as exc:  # the first pass read both: a second that fails is news
                note = f"DeLong's test did not run: {exc}"
    if pair is None:
        run.head = run.single(head, meta)
        try:
            run.base = run.single(base.path, base_meta)
        except InputError as exc:  # the base's fault: its side is left out, and says why
            run.base, note = None, f"The base's predictions cannot be scored: {exc}"
    return run.evidence(pair, note, base, slice_gates, relative)


class _Run:
    def __init__(
        self, config: Config, meta: PredictionsMeta, keys: list[SliceKey], tested: list[SliceKey]
    ) -> None:
        self.config, self.meta, self.keys, self.tested = config, meta, keys, tested
        self.head: Side | None = None
        self.base: Side | None = None
        self.head_path: Path | None = None

    def columns(self, path: Path, meta: PredictionsMeta) -> list[str]:
        import pyarrow.parquet as pq

        schema = pq.ParquetFile(path).schema_arrow
        wanted = {"y_true", "y_pred", "y_score", "id"} | {slice_column(c) for k in self.keys
                                                          for c, _ in k}
        found = [n for n in schema.names if n in wanted or n.startswith(PROBA_PREFIX)]
        relative = self.config.evaluation.predictions
        shown = relative if path == self.head_path else f"{relative} at the base"
        check_flat_columns(schema, found, shown)
        return found

    def chunks(self, path: Path, meta: PredictionsMeta) -> Iterator[Chunk]:
        for chunk in read_prediction_chunks(path, columns=self.columns(path, meta)):
            yield Chunk(chunk)

    def base_meta(self, base: BaseSide) -> tuple[PredictionsMeta | None, str | None]:
        """The base file's metadata, or why its rows cannot be compared with the head's."""
        if base.path is None:
            return None, base.note
        try:
            found = read_meta(base.path)
        except InputError as exc:
            return None, f"The base's predictions file cannot be read: {exc}"
        meta = self.meta
        if found.task != meta.task:
            return None, (
                f"The base's predictions are of a {found.task} task and the head's of a "
                f"{meta.task} one, so they are not compared."
            )
        if meta.task != "regression" and boot_labels(found) != boot_labels(meta):
            return found, (
                "The base's predictions have other class labels than the head's, so the "
                "rows are not paired."
            )
        if found.rows != meta.rows:
            return found, (
                f"The test set changed between revisions: the base's predictions have "
                f"{found.rows} rows and the head's {meta.rows}, so no paired test ran."
            )
        if (found.id is None) != (meta.id is None):
            return found, (
                "One revision's predictions have an id column and the other's none, so the "
                "rows are not paired."
            )
        return found, None

    def lockstep(
        self, head: Path, base: Path | None, base_meta: PredictionsMeta
    ) -> tuple[Pair | None, str | None, bool]:
        """(pair, why not paired, the base is usable): one pass over both files.

        Any trouble ends the pass: the head's own errors are raised again when it is read
        alone; the base's make it unusable; rows that do not pair refuse the tests.
        """
        assert base is not None
        ev = self.config.evaluation
        head_side = Side(self.meta, ev, self.keys, bootstrap=False)
        base_side = Side(base_meta, ev, self.keys, bootstrap=False)
        pair = Pair(self.meta, ev, self.tested)
        try:
            for b, h in zip_paired(self.chunks(base, base_meta), self.chunks(head, self.meta)):
                masks = head_side.masks(h.columns)  # the head's slices: the same rows
                head_side.update(h.columns, masks)
                try:
                    base_side.update(b.columns, masks)
                except InputError as exc:
                    return None, f"The base's predictions cannot be scored: {exc}", False
                pair.update(b.columns, h.columns, masks)
        except InputError as exc:
            return None, f"The test set changed between revisions, so no test ran: {exc}", True
        self.head, self.base = head_side, base_side
        return pair, None, True

    def delong(
        self, head: Path, base: Path, base_meta: PredictionsMeta | None, pair: Pair
    ) -> str | None:
        """DeLong's paired test for the gates with `test: delong`: a second lockstep pass,
        which looks each row's scores up in the first pass's counts. Why not, when it cannot."""
        keys = list(dict.fromkeys(
            tuple(g.evidence.slice or ()) for g in self.config.gates if g.evidence.test == "delong"
        ))
        if not keys or base_meta is None or self.head is None or self.base is None:
            return None
        from mlops_ci.evaluation.delong import PairedDeLong

        if not (self.head.has_scores() and self.base.has_scores()):
            side = "base's" if self.head.has_scores() else "head's"
            return (
                f"The {side} predictions have no scores (y_score), so DeLong's test of ROC AUC "
                "did not run."
            )
        tests = {key: PairedDeLong(self.base.part(key).scores, self.head.part(key).scores)
                 for key in keys}
        positive = self.meta.pos_label if self.meta.pos_label is not None else (
            self.meta.labels[-1] if self.meta.labels else 1
        )
        for b, h in zip_paired(self.chunks(base, base_meta), self.chunks(head, self.meta)):
            masks = self.head.masks(h.columns)
            truth = np.asarray(h.columns["y_true"]) == positive
            for key, test in tests.items():
                rows = masks[key] if key else np.ones(len(truth), dtype=bool)
                test.update(truth[rows], b.columns["y_score"][rows], h.columns["y_score"][rows])
        pair.delong = tests
        return None

    def single(self, path: Path | None, meta: PredictionsMeta | None) -> Side | None:
        if path is None or meta is None:
            return None
        side = Side(meta, self.config.evaluation, self.keys, bootstrap=True)
        for chunk in self.chunks(path, meta):
            side.update(chunk.columns, side.masks(chunk.columns))
        return side

    # --- results ---

    def evidence(
        self, pair: Pair | None, note: str | None, base: BaseSide,
        slice_gates: list[GateConfig], relative: str,
    ) -> Evidence:
        ev = self.config.evaluation
        assert self.head is not None
        head_side, base_side = self.head, self.base
        if note and len(note) > MAX_NOTE:
            note = note[: MAX_NOTE - 3] + "..."
        intervals: dict[str, tuple[list[float] | None, list[float] | None]] = {}
        if pair is not None:
            for name, result in pair.boot.results(ev.confidence).items():
                intervals[name] = (_pair(result.head), _pair(result.base))
        else:
            heads = head_side.boot.intervals(ev.confidence) if head_side.boot else {}
            bases = base_side.boot.intervals(ev.confidence) if base_side and base_side.boot \
                else {}
            for name in heads:
                intervals[name] = (_pair(heads[name]), _pair(bases[name]) if name in bases
                                   else None)
        auc = (_auc_interval(head_side, ev.confidence), _auc_interval(base_side, ev.confidence))
        if auc[0] is not None:  # a rank metric: DeLong's interval, not the bootstrap's
            intervals["roc_auc"] = auc
        facts: dict[int, GateFacts] = {}
        for gate in self.config.gates:
            if not (gate.evidence.test or gate.evidence.slice):
                continue
            metric = self._slice_diff(gate, note, base, relative) if gate.evidence.slice \
                else None
            test = self._test(gate, pair)
            facts[gate.index] = GateFacts(
                metric=metric, test=test, note=None if test else note or "no paired test ran",
            )
        return Evidence(
            info=EvaluationInfo(
                predictions=relative,
                task=self.meta.task,
                rows=head_side.overall.rows,
                base_rows=base_side.overall.rows if base_side else None,
                confidence=ev.confidence,
                replicates=ev.replicates,
                seed=ev.seed,
                note=note,
                confusion=self._confusion(),
            ),
            metrics_file=self.meta.metrics_file,
            intervals=intervals,
            facts=facts,
            values=_values(head_side, base_side),
        )

    def _test(self, gate: GateConfig, pair: Pair | None) -> PairedFacts | None:
        if pair is None or not gate.evidence.test:
            return None
        key = tuple(gate.evidence.slice or ())
        if gate.evidence.test == "delong":
            delong = pair.delong.get(key)
            if delong is None:
                return None
            found_auc = delong.result(1.0 - gate.evidence.alpha)
            return PairedFacts(
                p_value=found_auc.p_value, low=found_auc.difference.low,
                high=found_auc.difference.high, estimate=found_auc.difference.estimate,
            )
        boot, mcnemar = pair.slices[key] if key else (pair.boot, pair.mcnemar)
        if boot.rows == 0:
            return None
        name = slice_metric(gate, self.meta) if key else gate.metric.rsplit(":", 1)[-1]
        result = boot.results(1.0 - gate.evidence.alpha)[name]
        p_value, estimate = result.p_value, result.difference.estimate
        if gate.evidence.test == "mcnemar" and mcnemar is not None:
            found = mcnemar.result()
            p_value, estimate = found.p_value, found.difference
        return PairedFacts(
            p_value=p_value, low=result.difference.low, high=result.difference.high,
            estimate=estimate,
        )

    def _slice_diff(
        self, gate: GateConfig, note: str | None, base: BaseSide, relative: str
    ) -> MetricDiff:
        assert self.head is not None
        key = tuple(gate.evidence.slice or ())
        name = slice_metric(gate, self.meta)
        acc = self.head.slices[key]
        if acc.rows == 0:
            shown = "; ".join(
                f"the values of {column} there: "
                + (", ".join(label_text(v) for v in list(self.head.seen.get(column, {}))[:20])
                   or "none")
                for column, _ in key
            )
            text = ", ".join(f"{c}: {label_text(v)}" for c, v in key)
            raise ConfigError(
                f"{where(self.config, gate)}: gates[{gate.index}] slice {{{text}}} matches no "
                f"row of {relative}; {shown}."
            )
        head_values = acc.result()
        if name not in head_values:
            why = f"{relative} has no scores to compute it from"
            if self.head.has_scores():
                why = {
                    "roc_auc": f"the slice's {acc.rows} rows are all of one class, and ROC AUC "
                    "needs both",
                    "average_precision": f"the slice's {acc.rows} rows have no positive one",
                }.get(name, f"the scores in {relative} are not probabilities")
            raise ConfigError(
                f"{where(self.config, gate)}: gates[{gate.index}] judges {name!r} on a slice, "
                f"but {why}; choose among {', '.join(k for k in head_values if k != 'rows')}."
            )
        file = relative
        base_value = None
        unreadable: dict[str, str] = {}
        if self.base is not None:
            base_acc = self.base.slices[key]
            if base_acc.rows:
                base_value = base_acc.result().get(name)
            if base_value is None:
                unreadable[file] = "The base's predictions have no row in this slice."
        elif base.declared or (base.path is not None):
            unreadable[file] = note or "the base's predictions could not be read."
        base_metrics = {file: {name: base_value}} if base_value is not None else {}
        (diff,) = compare_metrics(
            {file: {name: head_values[name]}}, base_metrics, self.config.metrics, unreadable
        )
        return diff

    def _confusion(self) -> dict[str, Any] | None:
        head = self.head
        if head is None or self.meta.task == "regression" or head.overall.rows == 0:
            return None
        labels, matrix = head.overall.confusion()  # type: ignore[union-attr]
        base_matrix = None
        if self.base is not None and self.base.overall.rows:
            base_labels, found = self.base.overall.confusion()  # type: ignore[union-attr]
            if list(base_labels) == list(labels):
                base_matrix = found.tolist()
        if len(labels) > MAX_CONFUSION_LABELS:
            return None
        return {
            "labels": [str(python_label(x))[:200] for x in labels],
            "head": matrix.tolist(),
            "base": base_matrix,
        }


def _values(
    head: Side, base: Side | None
) -> dict[str, tuple[float | None, float | None]]:
    """Each metric's value on all rows of the head's (and the base's) predictions."""
    heads = head.overall.result() if head.overall.rows else {}
    bases = base.overall.result() if base is not None and base.overall.rows else {}
    return {name: (heads.get(name), bases.get(name)) for name in {*heads, *bases}}


def _auc_interval(side: Side | None, level: float) -> list[float] | None:
    """DeLong's interval of one side's ROC AUC; None without scores or with one class."""
    from mlops_ci.evaluation.delong import auc_interval
    from mlops_ci.evaluation.metrics import BinaryAccumulator

    if side is None or not isinstance(side.overall, BinaryAccumulator) or not side.has_scores():
        return None
    try:
        return _pair(auc_interval(side.overall.scores, level))
    except InputError:
        return None


def _pair(interval: Interval) -> list[float] | None:
    import math

    if math.isnan(interval.low) or math.isnan(interval.high):
        return None
    return [interval.low, interval.high]
