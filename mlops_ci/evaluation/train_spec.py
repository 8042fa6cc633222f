"""What params.yaml asks `mlops-ci train` to build: one estimator, or a pipeline of steps.

The section (``model`` by default) is read with the bounded YAML reader of ``config_yaml``
(so every error names its line) and checked for shape here: an ``estimator`` with its
``params``, or ``steps``, a list of them; optionally ``preprocess`` with ``numeric`` and
``categorical`` steps, applied by column type. Values are plain YAML data (text, numbers,
booleans, lists, mappings), never objects: the only things built are the estimator classes
that ``estimators.py`` lets through. Nothing is imported here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.config_yaml import KeyPath, Positions, parse_document
from mlops_ci.config_yaml import at as _at
from mlops_ci.errors import ConfigError
from mlops_ci.schemas import describe_value, format_path
from mlops_ci.security import read_regular_file, special_file_problem

SECTION_KEYS = ("estimator", "params", "steps", "preprocess")
STEP_KEYS = ("estimator", "params")
PREPROCESS_KEYS = ("numeric", "categorical")
EXAMPLE = "estimator: sklearn.ensemble.RandomForestClassifier"


@dataclass(frozen=True)
class Where:
    """Where a value stands in params.yaml, for messages: ``params.yaml, line 4: model.params``."""

    file: str
    positions: Positions

    def __call__(self, key: KeyPath) -> str:
        return f"{_at(self.file, self.positions, key)}: {format_path(key)}"


@dataclass(frozen=True)
class StepSpec:
    estimator: str  # the dotted class name, as written
    params: dict[str, Any]
    key: KeyPath  # where the step stands: ("model",) or ("model", "steps", 1)


@dataclass(frozen=True)
class ModelSpec:
    steps: tuple[StepSpec, ...]  # the last one is the estimator
    pipeline: bool  # written as `steps:` (a Pipeline even of one step)
    numeric: tuple[StepSpec, ...] = ()  # `preprocess.numeric`: for the numeric columns
    categorical: tuple[StepSpec, ...] = ()  # `preprocess.categorical`: for the others
    where: Where = Where("params.yaml", {})

    @property
    def preprocess(self) -> bool:
        return bool(self.numeric or self.categorical)


def read_model_spec(path: Path, key: str) -> ModelSpec:
    """The section *key* (dotted for a nested one: ``train.model``) of the params file *path*."""
    name = path.name
    problem = special_file_problem(path)
    if problem:
        raise ConfigError(f"{path} {problem}, not a params file; give a YAML file (--params).")
    try:
        text = read_regular_file(path, what="The params file", error=ConfigError).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"No params file {path}: `mlops-ci train` reads the model to train from it. Write "
            f"one with a `{key}:` section ({EXAMPLE}), or name yours with --params."
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it with UTF-8 encoding.") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the params file ({exc.strerror}).") from None
    document, positions = parse_document(text, name, non_finite=True)  # `max_x: .inf`
    where = Where(name, positions)
    section: object = document
    keys: KeyPath = ()
    for part in key.split("."):
        keys = (*keys, part)
        if not isinstance(section, dict) or part not in section:
            have = sorted(section) if isinstance(section, dict) else []
            raise ConfigError(
                f"{name} has no `{format_path(keys)}` section (--params-key {key}); "
                f"{_listed('its keys are', have)}. Add one: `{key}: {{{EXAMPLE}}}`."
            )
        section = section[part]
    return _model(section, keys, where)


def _listed(what: str, names: list[str], limit: int = 20) -> str:
    if not names:
        return "it has none"
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    shown = ", ".join(names[:limit]) + more
    return f"{what} {shown}"


def _mapping(value: object, key: KeyPath, where: Where, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{where(key)} is {describe_value(value)}, not a mapping; write it as a mapping "
            f"with {' or '.join(allowed)} (e.g. {EXAMPLE})."
        )
    for unknown in (k for k in value if k not in allowed):
        close = difflib.get_close_matches(unknown, allowed, n=1)
        hint = f"did you mean {close[0]}?" if close else f"the keys are {', '.join(allowed)}."
        raise ConfigError(f"{where((*key, unknown))} is not a key mlops-ci train reads; {hint}")
    return value


def _model(section: object, key: KeyPath, where: Where) -> ModelSpec:
    data = _mapping(section, key, where, SECTION_KEYS)
    if "steps" in data:
        if "estimator" in data or "params" in data:
            raise ConfigError(
                f"{where(key)} has both `steps` and `estimator`/`params`; write the estimator "
                "as the last of the steps, or remove `steps`."
            )
        steps = data["steps"]
        if not isinstance(steps, list) or not steps:
            raise ConfigError(
                f"{where((*key, 'steps'))} is {describe_value(steps)}; write a list of steps, "
                "each a mapping with an `estimator` (and its `params`), the model last."
            )
        specs = tuple(_step(s, (*key, "steps", i), where) for i, s in enumerate(steps))
        pipeline = True
    elif "estimator" in data:
        specs = (_step({k: data[k] for k in STEP_KEYS if k in data}, key, where),)
        pipeline = False
    else:
        raise ConfigError(
            f"{where(key)} names no estimator; add `{EXAMPLE}` (with its `params:`), or "
            "`steps:` for a pipeline."
        )
    numeric: tuple[StepSpec, ...] = ()
    categorical: tuple[StepSpec, ...] = ()
    if data.get("preprocess") is not None:
        pre_key = (*key, "preprocess")
        pre = _mapping(data["preprocess"], pre_key, where, PREPROCESS_KEYS)
        numeric = _steps(pre.get("numeric"), (*pre_key, "numeric"), where)
        categorical = _steps(pre.get("categorical"), (*pre_key, "categorical"), where)
    return ModelSpec(specs, pipeline, numeric, categorical, where)


def _steps(value: object, key: KeyPath, where: Where) -> tuple[StepSpec, ...]:
    if value is None:
        return ()
    if isinstance(value, dict):  # one step written without the list
        return (_step(value, key, where),)
    if not isinstance(value, list):
        raise ConfigError(
            f"{where(key)} is {describe_value(value)}; write a list of steps, each a mapping "
            "with an `estimator` and its `params`."
        )
    return tuple(_step(s, (*key, i), where) for i, s in enumerate(value))


def _step(value: object, key: KeyPath, where: Where) -> StepSpec:
    data = _mapping(value, key, where, STEP_KEYS)
    if "estimator" not in data:
        raise ConfigError(f"{where(key)} has no `estimator`; add one, e.g. `{EXAMPLE}`.")
    estimator = data["estimator"]
    if not isinstance(estimator, str):
        raise ConfigError(
            f"{where((*key, 'estimator'))} is {describe_value(estimator)}; write the dotted "
            f"name of an estimator class, e.g. `{EXAMPLE}`."
        )
    params = data.get("params")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise ConfigError(
            f"{where((*key, 'params'))} is {describe_value(params)}, not a mapping; write the "
            "estimator's parameters as `name: value` lines under it."
        )
    for name, param in params.items():
        _check_plain(param, (*key, "params", name), where)
    return StepSpec(estimator=estimator, params=dict(params), key=key)


def _check_plain(value: object, key: KeyPath, where: Where) -> None:
    """Text, numbers, booleans, empty, and lists and mappings of them: nothing else is built."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain(item, (*key, index), where)
        return
    if isinstance(value, dict):
        for name, item in value.items():
            _check_plain(item, (*key, name), where)
        return
    raise ConfigError(
        f"{where(key)} is {describe_value(value)}; a parameter must be plain YAML (text, a "
        "number, true/false, a list or a mapping). Quote it to pass it as text."
    )
