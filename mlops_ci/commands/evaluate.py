"""`mlops-ci evaluate`: score a test table with a model and write what DVC and the gates read.

Settings come from the flags, else from mlops.yaml (`model.task`, the `evaluation:` section),
else from the model (a classifier's classes, a regressor's kind); the command also works with
no mlops.yaml at all. The model loads through ``mlops_ci.models`` only: a skops file with the
trusted types its training sidecar records (``<model stem>.train.json``, written by
`mlops-ci train`, whose recorded digest must be the model's), or skops' default types without
one; a pickle only with ``--allow-pickle``. See docs/evaluate.md.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from mlops_ci.errors import EXIT_OK, InputError
from mlops_ci.files import check_writable_file
from mlops_ci.security import log_safe

DEFAULT_METRICS = Path("eval/metrics.json")
DEFAULT_PLOTS = Path("eval/plots")
# the plots evaluate may write into --plots, as <name>.json and <name>.png (curves, images)
PLOT_NAMES = ("confusion", "roc", "precision_recall", "calibration", "errors", "residuals")
# mlops.yaml's model.task → the evaluation's task ("classification": binary or multiclass by
# the number of classes the model learned)
CONFIG_TASKS: dict[str, str] = {
    "binary-classification": "binary",
    "multiclass-classification": "multiclass",
    "regression": "regression",
    "tabular-classification": "classification",
    "tabular-regression": "regression",
}


@dataclass(frozen=True)
class Settings:
    """The evaluation settings after flags, mlops.yaml and defaults have had their say."""

    task: str | None
    task_source: str
    slices: tuple[tuple[str, ...], ...]
    predictions: Path
    confidence: float
    replicates: int
    seed: int


def evaluate(
    *,
    model: Path,
    data: Path,
    target: str,
    task: str | None = None,
    id_column: str | None = None,
    slices: Sequence[Sequence[str]] | None = None,
    predictions: Path | None = None,
    metrics: Path = DEFAULT_METRICS,
    plots: Path | None = DEFAULT_PLOTS,
    confidence: float | None = None,
    replicates: int | None = None,
    seed: int | None = None,
    chunk_rows: int = 100_000,
    allow_pickle: bool = False,
    info: Path | None = None,
    images: bool = True,
    progress: bool = True,
    config_file: Path | None = None,
    env: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """Evaluate *model* on *data*; write the predictions, metrics, intervals and plots. Exit 0."""
    from mlops_ci.evaluation.evaluate_outputs import evaluation_path, plain, write_outputs
    from mlops_ci.evaluation.evaluate_run import Plan, check_table, evaluate_model, model_task
    from mlops_ci.evaluation.evaluate_run import feature_columns as choose_features
    from mlops_ci.evaluation.predictions import PredictionsMeta
    from mlops_ci.evaluation.predictions_writer import PredictionsWriter

    settings = resolve_settings(
        task=task, slices=slices, predictions=predictions, confidence=confidence,
        replicates=replicates, seed=seed, config_file=config_file, env=env,
    )
    evaluation_path(metrics)  # refuse a metrics file named evaluation.json before any work
    check_writable("--predictions", settings.predictions)
    check_writable("--metrics", metrics)
    for path in (settings.predictions, metrics, evaluation_path(metrics)):
        check_writable_file(path, replace_links=True)  # not a directory, FIFO or device
    if plots is not None:
        check_writable("--plots", plots, directory=True)
    check_distinct(
        inputs=[("the test table (--data)", data), ("the model (--model)", model),
                ("the training sidecar", info or model.with_name(f"{model.stem}.train.json"))],
        outputs=output_files(settings.predictions, metrics, evaluation_path(metrics), plots),
    )
    loaded, recorded = load_evaluated_model(model, info=info, allow_pickle=allow_pickle)
    chosen, labels = model_task(loaded, settings.task, settings.task_source)
    plan = Plan(
        data=data, target=target, task=chosen, labels=labels, features=(),
        id_column=id_column, slices=settings.slices, confidence=settings.confidence,
        replicates=settings.replicates, seed=settings.seed, chunk_rows=chunk_rows,
    )
    present = check_table(plan)
    check_unique_columns(data)
    features = choose_features(
        loaded, data, present, target=target, id_column=id_column, recorded=recorded
    )
    plan = replace(plan, features=features)
    meta = PredictionsMeta(
        task=plan.task,
        target=target,
        labels=None if labels is None else tuple(plain(x) for x in labels),
        pos_label=plain(plan.pos_label),
        id=id_column,
        slices=tuple(plan.slice_columns),
        metrics_file=recorded_path(metrics, Path.cwd()),
        model=recorded_path(model, Path.cwd()),
        data=recorded_path(data, Path.cwd()),
    )
    # the predictions go to a temporary name first, moved into place with the other outputs
    staged = settings.predictions.with_name(
        f".{settings.predictions.name}.{os.getpid()}.{secrets.token_hex(4)}.new"
    )
    try:
        with PredictionsWriter(staged, meta) as writer, _bar(data, progress, stderr) as bar:
            evaluated = evaluate_model(loaded, plan, writer, on_chunk=bar)
        written = write_outputs(
            evaluated, plan, metrics_path=metrics, plots_dir=plots, images=images,
            title=model.name, predictions=(staged, settings.predictions),
        )
    finally:
        staged.unlink(missing_ok=True)
    print(log_safe(summary(evaluated, plan, [settings.predictions, *written])), file=stdout)
    return EXIT_OK


def recorded_path(path: Path, cwd: Path) -> str | None:
    """*path* as the predictions file records it: relative to the DVC repository around *cwd*
    (the directory holding ``.dvc``), as DVC names its outputs; as given outside one. None for
    a path that cannot be named so (absolute, or climbing out with ``..``): the gates read
    these names as paths inside the repository."""
    from mlops_ci.evaluation.predictions_checks import escapes

    named = _repository_path(path, cwd)
    return None if escapes(named) else named


def _repository_path(path: Path, cwd: Path) -> str:
    absolute = Path(os.path.abspath(cwd / path))
    for root in (cwd, *cwd.parents):
        if (root / ".dvc").is_dir():
            if absolute.is_relative_to(root):
                return absolute.relative_to(root).as_posix()
            break
    return path.as_posix()


def output_files(
    predictions: Path, metrics: Path, evaluation: Path, plots: Path | None
) -> list[tuple[str, Path]]:
    """Every path evaluate may write, each with how to name it in a message."""
    out = [("--predictions", predictions), ("--metrics", metrics),
           ("evaluation.json (beside --metrics)", evaluation)]
    if plots is not None:
        out.append(("--plots", plots))
        out += [(f"--plots' {name}{suffix}", plots / f"{name}{suffix}")
                for name in PLOT_NAMES for suffix in (".json", ".png")]
    return out


def check_distinct(
    *, inputs: Sequence[tuple[str, Path]], outputs: Sequence[tuple[str, Path]]
) -> None:
    """Refuse, before anything is written, an output that is an input or another output
    (compared as real paths, links followed): one of the two would be lost."""
    seen: dict[str, tuple[str, Path]] = {}
    for role, path in [*inputs, *outputs]:
        real = os.path.realpath(path)
        if real in seen and (role, path) in outputs:
            other, other_path = seen[real]
            raise InputError(
                f"{role} {path.as_posix()} is the same file as {other} {other_path.as_posix()}; "
                "evaluate would overwrite one with the other, so nothing was written; give "
                "each output its own path."
            )
        seen.setdefault(real, (role, path))


def check_unique_columns(data: Path) -> None:
    """Refuse a test table that names a column twice: which of the two is the model's feature,
    the target or a slice would be a guess (and pandas renames the second one of a CSV)."""
    from mlops_ci.predict_chunks import duplicated_columns

    twice = duplicated_columns(data)
    if twice:
        shown = ", ".join(repr(name) for name in twice[:10])
        raise InputError(
            f"The test data {data} has more than one column named {shown}; give every column "
            "its own name."
        )


def check_writable(flag: str, path: Path, *, directory: bool = False) -> None:
    """Refuse, before the slow work, an output *path* that sits under a file."""
    for parent in ((path,) if directory else ()) + tuple(path.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise InputError(
                    f"{flag} {path}: {parent} is a file, not a directory; choose another path."
                )
            return


def resolve_settings(
    *,
    task: str | None,
    slices: Sequence[Sequence[str]] | None,
    predictions: Path | None,
    confidence: float | None,
    replicates: int | None,
    seed: int | None,
    config_file: Path | None,
    env: Mapping[str, str],
) -> Settings:
    """Flags first, then mlops.yaml (when there is one), then the defaults."""
    from mlops_ci.commands.common import local_config
    from mlops_ci.config_evaluation import EvaluationConfig

    config = local_config(config_file, env)
    section = EvaluationConfig() if config is None else config.evaluation
    chosen_task, source = task, "--task"
    if chosen_task is None and config is not None:
        chosen_task, source = config_task(config.model.task, config.path)
    elif chosen_task is None:
        source = "the model"
    if predictions is None:
        predictions = Path(section.predictions)
        if config is not None:  # relative to the repository root, where mlops.yaml is
            predictions = _inside(config.path.parent, section.predictions, "evaluation.predictions")
    return Settings(
        task=chosen_task,
        task_source=source,
        slices=section.slices if slices is None else tuple(tuple(spec) for spec in slices),
        predictions=predictions,
        confidence=section.confidence if confidence is None else confidence,
        replicates=section.replicates if replicates is None else replicates,
        seed=section.seed if seed is None else seed,
    )


def config_task(name: str, path: Path) -> tuple[str, str]:
    """mlops.yaml's `model.task` as an evaluation task, and how to name it in messages."""
    source = f"{path.name}'s model.task ({name})"
    if name in CONFIG_TASKS:
        return CONFIG_TASKS[name], source
    if name.endswith("-classification"):
        return "classification", source
    raise InputError(
        f"{source} is {name!r}, which mlops-ci evaluate has no metrics for (it evaluates "
        "binary-classification, multiclass-classification and regression); pass --task."
    )


def _inside(root: Path, relative: str, what: str) -> Path:
    """*relative* (a path mlops.yaml names) under *root*, refused when it leaves it."""
    from mlops_ci.security import resolve_inside

    resolve_inside(root, relative, what=what)
    return Path(os.path.relpath(root / relative))


def load_evaluated_model(
    path: Path, *, info: Path | None, allow_pickle: bool
) -> tuple[Any, list[str] | None]:
    """(the model, the feature columns its sidecar records or None), loaded safely."""
    import hashlib

    from mlops_ci.evaluation.train_info import read_train_info
    from mlops_ci.models import (
        default_untrusted_types,
        detect_format,
        load_model,
        read_model_bytes,
    )

    data = read_model_bytes(path)
    fmt = detect_format(path, data)
    if fmt == "pickle" and not allow_pickle:
        raise InputError(
            f"The model {path} is a pickle, and loading a pickle runs code from the file; it "
            "was not loaded. Pass --allow-pickle only for a model you made or trust, or save it "
            "with skops (`mlops-ci train`'s default)."
        )
    sidecar = info if info is not None else path.with_name(f"{path.stem}.train.json")
    trusted: list[str] | None = None
    features: list[str] | None = None
    if info is not None or sidecar.is_file():
        document = read_train_info(sidecar)
        digest = hashlib.sha256(data).hexdigest()
        if document["model"]["sha256"] != digest:
            raise InputError(
                f"The training sidecar {sidecar} describes another model file (its sha256 is "
                f"{document['model']['sha256']}, {path}'s is {digest}); train again to rewrite "
                "it, or name the right one with --info."
            )
        trusted = list(document["trusted_types"])
        features = list(document["data"]["features"])
    elif fmt == "skops":
        untrusted = default_untrusted_types(path, data)
        if untrusted:
            raise InputError(
                f"{path} needs types that skops does not trust by default "
                f"({', '.join(untrusted[:10])}), and there is no training sidecar {sidecar} "
                "recording them as trusted; it was not loaded. Train it with `mlops-ci train` "
                "(which writes the sidecar), or name the sidecar with --info."
            )
    model = load_model(path, trusted_types=trusted, allow_pickle=allow_pickle, data=data)
    if not callable(getattr(model, "predict", None)):
        raise InputError(
            f"{path} is not a model: it loads as a {type(model).__name__}, which has no "
            "predict method; give a fitted estimator saved by `mlops-ci train`."
        )
    return model, features


@contextlib.contextmanager
def _bar(data: Path, enabled: bool, stderr: TextIO) -> Any:
    """A progress bar in rows (its advance method), or a no-op when disabled."""
    if not enabled:
        yield lambda rows: None
        return
    from mlops_ci.commands.predict import parquet_rows
    from mlops_ci.progress import Progress

    label = f"Evaluating {data.name}"
    with Progress(label, total=parquet_rows(data), unit="rows", stream=stderr) as bar:
        yield bar.advance


def summary(evaluated: Any, plan: Any, written: Sequence[Path]) -> str:
    """One line: rows, the first metrics with their intervals, and the files written."""
    shown = []
    for name, value in list(evaluated.metrics.items())[:4]:
        if name == "rows":
            continue
        interval = evaluated.intervals.get(name)
        around = f" [{interval.low:.4g}, {interval.high:.4g}]" if interval else ""
        shown.append(f"{name} {value:.4g}{around}")
    level = f"{plan.confidence:.0%}".replace("%", " %")
    files = ", ".join(p.as_posix() for p in written[:4])
    more = f" and {len(written) - 4} more" if len(written) > 4 else ""
    return (
        f"mlops-ci: evaluated {evaluated.rows:,} rows of {plan.data.as_posix()} ({plan.task}): "
        f"{'; '.join(shown)} ({level} intervals); wrote {files}{more}"
    )
