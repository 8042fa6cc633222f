"""`mlops-ci train`'s logic: read the table, build the estimator params.yaml names, fit, save.

The table (CSV or parquet) is read whole: fitting needs every row in memory. The model is saved
with ``mlops_ci.models.save_model`` (skops by default) and described in a sidecar JSON (the
estimator, its params, the training time, the data's shape, the library versions and the
types to trust when loading), which the model card and the release read. pandas and
scikit-learn are imported inside the functions. See docs/train.md.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.evaluation.estimators import Built, build_model
from mlops_ci.evaluation.train_info import train_info, write_train_info
from mlops_ci.evaluation.train_spec import read_model_spec
from mlops_ci.models import save_model
from mlops_ci.predict_chunks import CSV_SUFFIXES, PANDAS_EXTRA, PARQUET_SUFFIXES
from mlops_ci.security import special_file_problem

INFO_SUFFIX = ".train.json"
TRAIN_FORMATS = ("skops", "joblib")
_SUFFIX_OF = {"skops": (".skops",), "joblib": (".joblib", ".pkl", ".pickle")}


@dataclass(frozen=True)
class Trained:
    model: Any  # the fitted estimator, as saved
    info: dict[str, Any]  # the sidecar's content
    model_path: Path
    info_path: Path


def default_info_path(model_path: Path) -> Path:
    """``model.skops`` → ``model.train.json``, beside the model."""
    return model_path.with_name(model_path.stem + INFO_SUFFIX)


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise InputError(
            f"Training needs pandas, which is not installed. Install it with: pip install "
            f"'{PANDAS_EXTRA}'."
        ) from exc
    return pandas


def read_table(path: Path) -> Any:
    """The whole table at *path* (``.csv``, ``.parquet`` or ``.pq``) as a DataFrame."""
    pandas = _pandas()
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise InputError(
            f"{path}: unknown data format {suffix or '(no suffix)'!r}; give a .csv or .parquet "
            "file (--data)."
        )
    if not path.exists() and not path.is_symlink():
        raise InputError(
            f"The training data {path} does not exist; check --data, or run the stage that "
            "writes it (declare it in the stage's deps)."
        )
    problem = special_file_problem(path)
    if problem:
        raise InputError(f"The training data {path} {problem}; give a regular file.")
    try:
        if suffix in CSV_SUFFIXES:
            return pandas.read_csv(path)
        return pandas.read_parquet(path)
    except pandas.errors.EmptyDataError:
        raise InputError(
            f"The training data {path} is empty (no header, no rows); write the table with a "
            "header line and its rows."
        ) from None
    except ImportError as exc:  # parquet without pyarrow
        raise InputError(
            f"Reading {path} (parquet) needs pyarrow, which is not installed. Install it with: "
            "pip install pyarrow, or give a CSV file."
        ) from exc
    except (OSError, ValueError, pandas.errors.ParserError) as exc:
        raise InputError(f"Cannot read the training data {path}: {exc}") from None


def _columns(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(map(str, names[:limit]))
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def split_table(
    frame: Any, *, path: Path, target: str, features: Sequence[str] | None, drop: Sequence[str]
) -> tuple[Any, Any]:
    """(X, y): the feature columns and the target column, each checked."""
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if not len(frame):
        raise InputError(f"The training data {path} has a header but no rows; nothing to train on.")
    if target not in columns:
        raise InputError(
            f"The training data {path} has no target column {target!r} (--target); its columns "
            f"are {_columns(columns)}."
        )
    wanted = [*(features or ()), *drop]
    missing = [name for name in wanted if name not in columns]
    if missing:
        raise InputError(
            f"The training data {path} has no column {_columns(missing)} (named by "
            f"{'--features' if features and missing[0] in features else '--drop'}); its "
            f"columns are {_columns(columns)}."
        )
    if features and target in features:
        raise InputError(
            f"--features names the target column {target!r}; a model cannot be trained on "
            "its own answer. Remove it from --features."
        )
    chosen = list(dict.fromkeys(features)) if features else [c for c in columns if c != target]
    chosen = [c for c in chosen if c not in drop]
    if not chosen:
        raise InputError(
            f"No feature columns are left in {path} once the target {target!r} and --drop are "
            "set aside; keep at least one column to learn from."
        )
    y = frame[target]
    empty = y.isna()
    if empty.any():
        rows = [str(i + 2) for i in list(empty.to_numpy().nonzero()[0][:5])]  # CSV line numbers
        raise InputError(
            f"The target column {target!r} of {path} is empty in {int(empty.sum())} of "
            f"{len(y)} rows (the first at line {', '.join(rows)} of a CSV); fill or drop those "
            "rows before training."
        )
    return frame[chosen], y


def fit(built: Built, X: Any, y: Any, *, path: Path, params: str = "params.yaml") -> float:
    """Fit *built*'s estimator; a failure the data or params cause is an InputError.

    *params* names the params and their section, for the message. Returns the seconds taken.
    """
    start = time.perf_counter()
    try:
        built.estimator.fit(X, y)
    except (ValueError, TypeError) as exc:
        raise InputError(_fit_problem(exc, X, path, params)) from None
    return time.perf_counter() - start


def _fit_problem(exc: Exception, X: Any, path: Path, params: str) -> str:
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    text = " ".join(str(exc).split())
    text = text if len(text) <= 300 else text[:297] + "..."
    odd = [c for c in X.columns if not (is_numeric_dtype(X[c]) or is_bool_dtype(X[c]))]
    if odd and ("convert" in text or "float" in text or "dtype" in text):
        return (
            f"The estimator cannot take the non-numeric columns of {path}: {_columns(odd)} "
            f"(scikit-learn says: {text}). Drop them (--drop), encode them, or add "
            "`preprocess: {categorical: {estimator: sklearn.preprocessing.OneHotEncoder}}` to "
            "the model's params."
        )
    gaps = [c for c in X.columns if X[c].isna().any()]
    if gaps and "NaN" in text:
        return (
            f"The feature columns {_columns(gaps)} of {path} have empty values, which the "
            f"estimator cannot take (scikit-learn says: {text}). Fill them, drop the columns "
            "(--drop), or add an imputer such as sklearn.impute.SimpleImputer as a step."
        )
    return (
        f"Training on {path} failed: {text}. Check the estimator's params ({params}) and the "
        "data."
    )


def check_format(model_path: Path, fmt: str) -> None:
    if fmt not in TRAIN_FORMATS:
        raise InputError(f"Unknown model format {fmt!r} (--format); use skops or joblib.")
    suffix = model_path.suffix.lower()
    for other, suffixes in _SUFFIX_OF.items():
        if other != fmt and suffix in suffixes:
            raise InputError(
                f"--out {model_path} is named as a {other} file but --format is {fmt}; loading "
                f"would refuse it. Name it {model_path.stem}{_SUFFIX_OF[fmt][0]}."
            )


def _save(model: Any, out: Path, fmt: str) -> list[str]:
    """save_model to a temporary file beside *out*, renamed into place: never half a model."""
    partial = out.with_name(f".{out.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp{out.suffix}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        trusted = save_model(model, partial, format=fmt)  # type: ignore[arg-type]
        os.replace(partial, out)
    except InputError as exc:  # save_model's words name the temporary file: name the model's
        raise InputError(str(exc).replace(str(partial), str(out))) from exc
    except OSError as exc:
        raise InputError(
            f"Cannot write the model file {out}: {exc.strerror or exc}; choose a writable path."
        ) from exc
    finally:
        with contextlib.suppress(OSError):  # nothing to remove where nothing could be written
            partial.unlink(missing_ok=True)
    return trusted


def train_model(
    *,
    data: Path,
    target: str,
    out: Path,
    params_file: Path,
    params_key: str = "model",
    allowed_modules: tuple[str, ...] = ("sklearn",),
    features: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    fmt: str = "skops",
    info: Path | None = None,
    seed: int = 0,
) -> Trained:
    """Train the estimator of *params_file* on *data*, save it to *out*, write its sidecar.

    Everything params.yaml names is checked (and every class resolved) before the data is read.
    """
    check_format(out, fmt)
    spec = read_model_spec(params_file, params_key)
    built = build_model(spec, allowed_modules, seed=seed)
    X, y = split_table(read_table(data), path=data, target=target, features=features, drop=drop)
    seconds = fit(built, X, y, path=data, params=f"{params_file} `{params_key}`")
    trusted = _save(built.estimator, out, fmt)
    document = train_info(
        built,
        pipeline=spec.pipeline,
        seed=seed,
        params=(params_file, params_key),
        seconds=seconds,
        data=data,
        rows=int(X.shape[0]),
        features=[str(c) for c in X.columns],
        target=target,
        model=(out, fmt),
        trusted_types=trusted,
    )
    info_path = info if info is not None else default_info_path(out)
    write_train_info(info_path, document)
    return Trained(built.estimator, document, out, info_path)
