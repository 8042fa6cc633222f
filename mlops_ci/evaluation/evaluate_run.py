"""`mlops-ci evaluate`'s single pass: score a test table chunk by chunk and evaluate it.

For each chunk of the test table (``predict_chunks.read_chunks``, only the columns needed):
the target is checked, the model predicts (and scores: ``predict_proba``, else
``decision_function`` for a binary task), the chunk's predictions are appended to the
predictions file, and the chunk feeds the overall accumulator, one accumulator per slice, the
Poisson bootstrap of the intervals and (regression) the residuals sample. Nothing but one chunk
and those statistics is held, so memory stays bounded whatever the number of rows (beyond the
O(distinct scores) counts of the rank metrics, see docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlops_ci.errors import InputError
from mlops_ci.evaluation.bootstrap import BootstrapAccumulator, Interval
from mlops_ci.evaluation.checks import column, label_text, numbers, python_label
from mlops_ci.evaluation.curves import Records, plots
from mlops_ci.evaluation.heap import map_large_arrays
from mlops_ci.evaluation.metrics import Accumulator, Columns, accumulator
from mlops_ci.evaluation.predictions import proba_column, slice_column
from mlops_ci.evaluation.predictions_writer import PredictionsWriter
from mlops_ci.evaluation.residuals import ResidualSample
from mlops_ci.evaluation.slices import SlicedAccumulators, Spec
from mlops_ci.evaluation.stream import check_columns
from mlops_ci.predict_chunks import column_names, fixed_dtypes, read_chunks
from mlops_ci.security import special_file_problem

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Plan:
    """What to evaluate: the table, its columns, the task and the interval settings."""

    data: Path
    target: str
    task: str
    labels: tuple[Hashable, ...] | None  # the model's classes_, in order (classification)
    features: tuple[str, ...]
    id_column: str | None = None
    slices: tuple[Spec, ...] = ()
    confidence: float = 0.95
    replicates: int = 1000
    seed: int = 0
    chunk_rows: int = 100_000

    @property
    def pos_label(self) -> Hashable | None:
        return self.labels[1] if self.task == "binary" and self.labels else None

    @property
    def slice_columns(self) -> list[str]:
        return list(dict.fromkeys(name for spec in self.slices for name in spec))


@dataclass
class Evaluated:
    """What one pass found."""

    rows: int
    metrics: dict[str, float]
    intervals: dict[str, Interval]
    slices: list[dict[str, Any]]
    plots: dict[str, Records]
    scores: str | None  # "predict_proba", "decision_function" or None


def model_task(
    model: Any, wanted: str | None, source: str
) -> tuple[str, tuple[Hashable, ...] | None]:
    """The task (*wanted*, else the model's kind) and the model's class labels.

    *wanted* ``"classification"`` is binary or multiclass by the number of classes. A
    classifier's ``classes_`` are the declared labels: a label in the data the model never
    learned is refused. *source* names where *wanted* came from ("--task", "mlops.yaml's
    model.task (regression)"), for the messages.
    """
    classes = getattr(model, "classes_", None)
    labels = None if classes is None else tuple(python_label(c) for c in np.asarray(classes))
    kind = type(model).__name__
    if wanted is None and labels is None:
        return "regression", None
    if wanted in (None, "classification") and labels is not None:
        return ("binary" if len(labels) == 2 else "multiclass"), labels
    if wanted not in (*TASKS, "classification"):
        raise InputError(f"{source} is {wanted!r}; use one of {', '.join(TASKS)}.")
    if wanted == "regression":
        if labels is not None:
            raise InputError(
                f"{source} asks for a regression, but the model ({kind}) is a classifier with "
                f"the classes {', '.join(label_text(x) for x in labels[:10])}; set the task to "
                "binary or multiclass, or evaluate a regressor."
            )
        return wanted, None
    if labels is None:
        raise InputError(
            f"{source} asks for a {wanted} evaluation, but the model ({kind}) has no classes_ "
            "(it is not a fitted classifier); set the task to regression, or evaluate a "
            "classifier."
        )
    if wanted == "binary" and len(labels) != 2:
        raise InputError(
            f"{source} asks for a binary evaluation, but the model ({kind}) learned "
            f"{len(labels)} classes ({', '.join(label_text(x) for x in labels[:10])}); set the "
            "task to multiclass."
        )
    return str(wanted), labels


def feature_columns(
    model: Any,
    data: Path,
    present: Sequence[str],
    *,
    target: str,
    id_column: str | None,
    recorded: Sequence[str] | None = None,
) -> tuple[str, ...]:
    """The columns the model predicts from: its ``feature_names_in_``, else the *recorded*
    training features, else every column but the target and the id."""
    names = getattr(model, "feature_names_in_", None)
    wanted = [str(n) for n in names] if names is not None else list(recorded or ())
    if not wanted:
        return tuple(c for c in present if c not in (target, id_column))
    missing = [name for name in wanted if name not in present]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:10])
        raise InputError(
            f"{data} lacks {len(missing)} column(s) the model was trained on: {shown}; give "
            "the test table the training table's feature columns."
        )
    return tuple(wanted)


class _Scorer:
    """The model's predictions and scores for one chunk, its refusals as InputErrors."""

    def __init__(self, model: Any, plan: Plan) -> None:
        self.model, self.plan = model, plan
        self.method: str | None = None
        if plan.task != "regression" and hasattr(model, "predict_proba"):
            self.method = "predict_proba"
        elif plan.task == "binary" and hasattr(model, "decision_function"):
            self.method = "decision_function"
        self.names = getattr(model, "feature_names_in_", None) is not None

    def __call__(self, frame: Any, first: int) -> tuple[np.ndarray, np.ndarray | None]:
        x = frame[list(self.plan.features)]
        if not self.names:
            x = x.to_numpy()  # a model fitted on an array warns about named columns
        try:
            y_pred = np.asarray(self.model.predict(x))
            score = None if self.method is None else np.asarray(getattr(self.model, self.method)(x))
        # the model's own refusal of the table (wrong columns, types, missing values)
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
            from mlops_ci.commands.predict import columns_hint

            last = first + len(frame) - 1
            text = [c for c in self.plan.features if frame[c].dtype.kind == "O"]
            hint = columns_hint(self.model)
            if text:  # the usual cause: text (or a mixed column) where the model wants numbers
                shown = ", ".join(repr(c) for c in text[:10])
                hint = f". These feature columns hold text in those rows: {shown}"
            raise InputError(
                f"The model cannot score rows {first}-{last} of {self.plan.data}: "
                f"{type(exc).__name__}: {exc}"[:800] + hint.rstrip(".") + "."
            ) from exc
        if y_pred.shape != (len(frame),):
            raise InputError(
                f"The model's predict returned shape {y_pred.shape} for {len(frame)} rows; "
                "evaluate needs one prediction per row (a single-output model)."
            )
        if score is not None:
            score = self._shaped(score, len(frame))
        return y_pred, score

    def _shaped(self, score: np.ndarray, rows: int) -> np.ndarray:
        k = len(self.plan.labels or ())
        if self.method == "decision_function":
            if score.shape != (rows,):
                raise InputError(f"The model's decision_function returned shape {score.shape}.")
            return score.astype(np.float64)
        if score.shape != (rows, k):
            raise InputError(
                f"The model's predict_proba returned shape {score.shape}, not ({rows}, {k}): "
                "one probability per class."
            )
        return score[:, 1].astype(np.float64) if self.plan.task == "binary" else score


def _as_labels(y_true: np.ndarray, labels: tuple[Hashable, ...] | None) -> np.ndarray:
    """The targets with the labels' type, so that y_true and y_pred share one column type."""
    if labels is None:
        return y_true.astype(np.float64)
    like = np.asarray(labels)
    if like.dtype.kind in "iufb" and y_true.dtype.kind in "iufb":
        return y_true.astype(like.dtype)
    return y_true


def check_table(plan: Plan) -> list[str]:
    """The test table's columns, once the file, its target, id and slice columns are checked.

    *plan*'s features are not checked here (they are chosen from these columns).
    """
    problem = special_file_problem(plan.data)
    if problem:
        raise InputError(f"The test data {plan.data} {problem}; give a regular file.")
    if not plan.data.is_file():
        raise InputError(
            f"The test data {plan.data} does not exist; give a .csv or .parquet file (--data), "
            "or run the stage that writes it."
        )
    if plan.chunk_rows < 1:
        raise InputError(f"--chunk-rows must be at least 1, not {plan.chunk_rows}.")
    present = column_names(plan.data)
    needed = [("target", plan.target)]
    if plan.id_column is not None:
        needed.append(("id", plan.id_column))
    needed += [("slice", name) for name in plan.slice_columns]
    check_columns(plan.data, present, needed)
    return present


def evaluate_model(
    model: Any,
    plan: Plan,
    writer: PredictionsWriter,
    *,
    on_chunk: Callable[[int], None] | None = None,
) -> Evaluated:
    """Score every row of ``plan.data`` with *model*, writing the predictions to *writer*."""
    check_table(plan)
    map_large_arrays()  # the merges' freed arrays go back to the system, not into holes
    scorer = _Scorer(model, plan)
    score_names: str | list[str] = "y_score"
    if plan.task == "multiclass":
        score_names = [proba_column(i) for i in range(len(plan.labels or ()))]
    columns = Columns(plan.target, "y_pred", score_names)

    def make() -> Accumulator:
        return accumulator(
            plan.task, labels=plan.labels, pos_label=plan.pos_label, columns=columns,
            decision_scores=scorer.method == "decision_function",
        )

    overall = make()
    sliced = SlicedAccumulators(make, plan.slices)
    boot = BootstrapAccumulator(
        plan.task, replicates=plan.replicates, seed=plan.seed, labels=plan.labels
    )
    sample = ResidualSample(seed=plan.seed) if plan.task == "regression" else None
    extra = [plan.id_column] if plan.id_column else []
    wanted = list(dict.fromkeys([*plan.features, plan.target, *extra, *plan.slice_columns]))
    rows = 0
    # the target, id and slice columns' types, decided once for the whole file (CSV)
    fixed = fixed_dtypes(plan.data, [plan.target, *extra, *plan.slice_columns], plan.chunk_rows)
    for chunk in read_chunks(plan.data, plan.chunk_rows, wanted, fixed):
        if len(chunk) == 0:  # a header-only CSV reads as one empty chunk
            continue
        first = rows + 1
        raw = chunk[plan.target].to_numpy()
        if plan.task == "regression":
            y_true = numbers(raw, plan.target, first)
        else:
            y_true = column(raw, plan.target, first)  # its labels are checked by `overall`
        y_pred, score = scorer(chunk, first)
        overall.update(y_true, y_pred, score)
        boot.update(y_true, y_pred)
        # each slice column made a numpy array once, for the slices and the predictions file
        values = {name: chunk[name].to_numpy() for name in plan.slice_columns}
        sliced.update({name: values[name] for name in sliced.columns}, y_true, y_pred, score)
        positions = np.arange(rows, rows + len(chunk), dtype=np.int64)
        if sample is not None:
            sample.update(positions, y_true, y_pred)
        # once every target is one of the labels, it can take the labels' type
        y_true = _as_labels(y_true, plan.labels)
        writer.write(_prediction_columns(plan, chunk, values, positions, y_true, y_pred, score))
        del values
        rows += len(chunk)
        if on_chunk is not None:
            on_chunk(len(chunk))
    if rows == 0:
        raise InputError(
            f"{plan.data} has a header but no rows; give a test table with rows to evaluate."
        )
    # The slices' results first, so that their score counts are gone before the overall
    # curves and DeLong's interval make their (transient) arrays of every distinct score.
    slices = sliced.results()
    del sliced
    found = plots(overall)
    if sample is not None:
        found["residuals"] = sample.records()
    return Evaluated(
        rows=rows,
        metrics=overall.result(),
        intervals={**boot.intervals(plan.confidence), **_rank_intervals(overall, plan)},
        slices=slices,
        plots=found,
        scores=scorer.method,
    )


def _rank_intervals(overall: Accumulator, plan: Plan) -> dict[str, Interval]:
    """ROC AUC's interval, DeLong's (a rank metric has no Poisson bootstrap): binary tasks with
    scores and both classes present. Average precision has none."""
    from mlops_ci.evaluation.delong import auc_interval
    from mlops_ci.evaluation.metrics import BinaryAccumulator

    if not isinstance(overall, BinaryAccumulator) or not overall.scores.distinct():
        return {}
    if overall.scores.roc_auc() is None:  # one class only: no AUC, no interval
        return {}
    return {"roc_auc": auc_interval(overall.scores, plan.confidence)}


def _prediction_columns(
    plan: Plan,
    chunk: Any,
    slice_values: dict[str, np.ndarray],
    positions: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    score: np.ndarray | None,
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"row": positions, "y_true": y_true, "y_pred": y_pred}
    if plan.task == "regression":
        out["y_pred"] = y_pred.astype(np.float64)
    if score is not None and plan.task == "binary":
        out["y_score"] = score
    elif score is not None:
        for j in range(score.shape[1]):
            out[proba_column(j)] = score[:, j].astype(np.float64)
    if plan.id_column is not None:
        out["id"] = chunk[plan.id_column].to_numpy()
    for name in plan.slice_columns:
        out[slice_column(name)] = slice_values[name]
    return out
