"""The sidecar `mlops-ci train` writes beside the model: what was trained, on what, with what.

``<model stem>.train.json``, described by ``schema/train-info.schema.json``: the estimator and
its params, the training time, the data's shape, the class labels, the library versions, the
model file's digest and the types to trust when loading it. The model card and the release
read it with :func:`read_train_info`. See docs/train.md.
"""

from __future__ import annotations

import hashlib
import math
import platform
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from mlops_ci import __version__
from mlops_ci.errors import InputError
from mlops_ci.evaluation.estimators import Built
from mlops_ci.files import read_json, write_text_atomic
from mlops_ci.schemas import problem, validator

TRAIN_INFO_SCHEMA = "train-info.schema.json"
TRAIN_INFO_VERSION = 1
VERSIONED = ("scikit-learn", "numpy", "pandas", "scipy", "skops", "pyarrow")


def versions() -> dict[str, str | None]:
    """Python's, mlops-ci's and the libraries' versions (None for one not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version(), "mlops-ci": __version__}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _plain(value: Any) -> Any:
    """A numpy scalar (a class label) as the JSON number, text or boolean it holds."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _json_params(value: Any) -> Any:
    """Params as strict JSON holds them: `.inf` and `.nan` as the text YAML writes them."""
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, list):
        return [_json_params(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_params(v) for k, v in value.items()}
    return value


def train_info(
    built: Built,
    *,
    pipeline: bool,
    seed: int,
    params: tuple[Path, str],
    seconds: float,
    data: Path,
    rows: int,
    features: Sequence[str],
    target: str,
    model: tuple[Path, str],
    trusted_types: list[str],
) -> dict[str, Any]:
    """The sidecar's document for *built* (fitted) saved at *model* = (path, format)."""
    path, fmt = model
    classes = getattr(built.estimator, "classes_", None)
    final = next(step for step in built.steps if step.role == "model")
    several = pipeline or len(built.steps) > 1
    return {
        "schema_version": TRAIN_INFO_VERSION,
        "estimator": final.estimator,
        "params": _json_params(final.params),
        "pipeline": [
            {"role": s.role, "estimator": s.estimator, "params": _json_params(s.params)}
            for s in built.steps
        ] if several else None,
        "seed": seed if any(step.seeded for step in built.steps) else None,
        "params_file": params[0].as_posix(),
        "params_key": params[1],
        "training_seconds": round(seconds, 6),
        "data": {
            "path": data.as_posix(),
            "rows": rows,
            "n_features": len(features),
            "features": list(features),
            "target": target,
        },
        "classes": None if classes is None else [_plain(c) for c in classes],
        "model": {
            "path": path.as_posix(),
            "format": fmt,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        },
        "trusted_types": list(trusted_types),
        "versions": versions(),
    }


def write_train_info(path: Path, document: dict[str, Any]) -> None:
    """Write the sidecar whole (its directory created), checked against its schema first."""
    import json

    _check(document, str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"Cannot write the training sidecar {path}: {exc.strerror or exc}; choose a "
            "writable path (--info)."
        ) from exc
    write_text_atomic(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def read_train_info(path: Path) -> dict[str, Any]:
    """The sidecar at *path*, checked against its schema; an InputError names what is wrong."""
    document = read_json(
        path,
        label=f"The training sidecar {path}",
        missing="does not exist; `mlops-ci train` writes it beside the model (--info).",
        fix="Train the model again with `mlops-ci train` to rewrite it.",
    )
    _check(document, str(path))
    return document  # type: ignore[no-any-return]


def _check(document: object, source: str) -> None:
    errors = sorted(
        validator(TRAIN_INFO_SCHEMA).iter_errors(document), key=lambda e: list(map(str, e.path))
    )
    if errors:
        raise InputError(
            f"The training sidecar {source} is not one `mlops-ci train` writes: "
            f"{problem(errors[0])}. Train the model again to rewrite it."
        )
