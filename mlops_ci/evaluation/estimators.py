"""Estimator classes from their dotted names, through an allowlist, and built with their params.

A name from params.yaml is refused before anything is imported unless it is public dotted
identifiers (no ``_private`` part, no ``/``, no ``..``) inside an allowed module: scikit-learn's
(``sklearn``) and those mlops.yaml's ``train.allowed_modules`` adds, matched on whole dotted
parts (``sklearnx.evil`` is not inside ``sklearn``). Only then is the module imported, and what
it names must be a class deriving from ``sklearn.base.BaseEstimator``, defined inside an
allowed module, with a ``fit`` method. Its params are passed as keyword arguments: an unknown
one, or a value the estimator refuses, becomes a ConfigError naming the key. See docs/train.md.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from mlops_ci.config_train import DEFAULT_ALLOWED_MODULES
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.evaluation.train_spec import EXAMPLE, ModelSpec, StepSpec, Where
from mlops_ci.schemas import describe_value

MAX_NAME = 200
_DOTTED = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+")
SKLEARN_EXTRA = "mlops-ci[evaluate]"
# params whose value names a joblib cache directory, whose pickles a fit would load
UNPICKLING_PARAMS = ("memory",)


@dataclass(frozen=True)
class BuiltStep:
    """One estimator as built: for the sidecar (what was trained, with which params)."""

    estimator: str  # the dotted name, as written
    params: dict[str, Any]  # as written, with random_state added when --seed set it
    seeded: bool = False  # random_state came from --seed
    role: str = "model"  # model | step | numeric | categorical


@dataclass
class Built:
    estimator: Any
    steps: list[BuiltStep] = field(default_factory=list)


def _refuse(where: str, name: str, problem: str) -> ConfigError:
    return ConfigError(
        f"{where} is {describe_value(name)}: {problem}. Name an estimator class by its public "
        f"dotted name, e.g. `{EXAMPLE}`."
    )


def check_name(name: str, allowed: tuple[str, ...], *, where: str) -> tuple[str, str]:
    """(module, class) of *name*, refused unless it lies inside an allowed module. Pure."""
    if len(name) > MAX_NAME or not _DOTTED.fullmatch(name):
        raise _refuse(
            where, name, "not a dotted name of identifiers (letters, digits and '_', parts "
            "separated by single dots, no '/', spaces or other characters)"
        )
    parts = name.split(".")
    module, cls = ".".join(parts[:-1]), parts[-1]
    if any(part in ("tests", "conftest") or part.startswith("test_") for part in parts):
        raise _refuse(where, name, "inside a library's tests, where no estimator to train is")
    if not inside(module, allowed):
        raise ConfigError(
            f"{where} is {describe_value(name)}, outside the modules estimators may come from "
            f"({', '.join(allowed)}); nothing was imported. Name a scikit-learn estimator "
            f"(`{EXAMPLE}`), or, if you trust the library, add its module to "
            "train.allowed_modules in mlops.yaml."
        )
    return module, cls


def inside(module: str, allowed: tuple[str, ...]) -> bool:
    """*module* is an allowed module or one of its submodules (whole dotted parts)."""
    return any(module == prefix or module.startswith(prefix + ".") for prefix in allowed)


def resolve_class(name: str, allowed: tuple[str, ...], *, where: str) -> type[Any]:
    """The estimator class *name* names, once :func:`check_name` has let it through."""
    module_name, cls_name = check_name(name, allowed, where=where)
    base = _base_estimator()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{where} is {describe_value(name)}, but its module {module_name} cannot be "
            f"imported ({exc}). Check the spelling, or install the library."
        ) from None
    found = getattr(module, cls_name, None)  # a public name: no dunder reaches here
    if found is None:
        public = sorted(
            n for n, v in vars(module).items()
            if isinstance(v, type) and issubclass(v, base) and not n.startswith("_")
        )
        close = difflib.get_close_matches(cls_name, public, n=1)
        hint = f"did you mean {module_name}.{close[0]}?" if close else "check the spelling."
        raise ConfigError(
            f"{where} is {describe_value(name)}: {module_name} has no {cls_name}; {hint}"
        )
    if not isinstance(found, type) or not issubclass(found, base):
        raise _refuse(where, name, "not a class deriving from scikit-learn's BaseEstimator")
    if not inside(found.__module__, allowed):  # re-exported from elsewhere
        raise _refuse(
            where, name, f"it is defined in {found.__module__}, outside the allowed modules"
        )
    if not callable(getattr(found, "fit", None)) or inspect.isabstract(found):
        raise _refuse(where, name, "a base class or mixin without a fit method, not an estimator")
    return found


def _base_estimator() -> type[Any]:
    try:
        from sklearn.base import BaseEstimator
    except ImportError as exc:
        raise InputError(
            "`mlops-ci train` needs scikit-learn, which is not installed. Install it with: "
            f"pip install '{SKLEARN_EXTRA}'."
        ) from exc
    return BaseEstimator  # type: ignore[no-any-return]


def build_model(spec: ModelSpec, allowed: tuple[str, ...] = DEFAULT_ALLOWED_MODULES, *,
                seed: int = 0) -> Built:
    """The estimator (or Pipeline) *spec* describes, unfitted, every param checked."""
    where = spec.where
    built = Built(estimator=None)
    steps = [_one(step, allowed, where, seed, built, "step") for step in spec.steps]
    built.steps[-1] = BuiltStep(**{**built.steps[-1].__dict__, "role": "model"})
    for step, estimator in zip(spec.steps[:-1], steps[:-1], strict=True):
        _check_transformer(estimator, step, where)
    if not spec.pipeline and not spec.preprocess:
        built.estimator = steps[0]
        return built
    from sklearn.pipeline import make_pipeline

    if spec.preprocess:
        steps.insert(0, _column_transformer(spec, allowed, seed, built))
    built.estimator = make_pipeline(*steps)
    return built


def _column_transformer(spec: ModelSpec, allowed: tuple[str, ...], seed: int, built: Built) -> Any:
    """`preprocess`: its numeric steps on the numeric columns, its categorical on the others."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.pipeline import make_pipeline

    parts: list[tuple[str, Any, Any]] = []
    for role, specs, selector in (
        ("numeric", spec.numeric, make_column_selector(dtype_include="number")),
        ("categorical", spec.categorical, make_column_selector(dtype_exclude="number")),
    ):
        if not specs:
            continue
        made = [_one(step, allowed, spec.where, seed, built, role) for step in specs]
        for step, estimator in zip(specs, made, strict=True):
            _check_transformer(estimator, step, spec.where)
        parts.append((role, make_pipeline(*made) if len(made) > 1 else made[0], selector))
    # columns no part selects pass through unchanged (numeric ones when only `categorical`)
    return ColumnTransformer(parts, remainder="passthrough")


def _one(step: StepSpec, allowed: tuple[str, ...], where: Where, seed: int, built: Built,
         role: str) -> Any:
    cls = resolve_class(step.estimator, allowed, where=where((*step.key, "estimator")))
    params = dict(step.params)
    for name in UNPICKLING_PARAMS:
        if params.get(name) not in (None, False):
            raise ConfigError(
                f"{where((*step.key, 'params', name))} is {describe_value(params[name])}: "
                f"{step.estimator} would cache its work as pickles there and load them back, "
                "which runs code from whatever files the directory holds. Remove the param."
            )
    accepted = _parameters(cls)
    seeded = "random_state" in accepted and "random_state" not in params
    if seeded:
        params["random_state"] = seed
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise _unknown_param(step, cls, accepted, exc, where) from None
    _validate(estimator, step, where)
    built.steps.append(BuiltStep(step.estimator, params, seeded, role))
    return estimator


def _parameters(cls: type[Any]) -> set[str]:
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return set()
    return {n for n, p in signature.parameters.items() if n != "self" and p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}


def _unknown_param(step: StepSpec, cls: type[Any], accepted: set[str], exc: TypeError,
                   where: Where) -> ConfigError:
    unknown = next((name for name in step.params if name not in accepted), None)
    if unknown is None:  # a required argument, such as a meta-estimator's `estimator`
        key = (*step.key, "params" if step.params else "estimator")
        return ConfigError(
            f"{where(key)}: {step.estimator} cannot be built from params.yaml's plain values "
            f"({exc}); an estimator that needs another estimator or an object as a param "
            "cannot be named here. Choose one that takes plain params."
        )
    close = difflib.get_close_matches(unknown, sorted(accepted), n=1)
    every = ", ".join(sorted(accepted))
    hint = f"did you mean {close[0]}?" if close else f"its parameters are {every}."
    return ConfigError(
        f"{where((*step.key, 'params', unknown))} is not a parameter of {step.estimator} "
        f"({cls.__name__} says: {exc}); {hint}"
    )


_PARAM_NAMED = re.compile(r"The '([^']+)' parameter")


def _validate(estimator: Any, step: StepSpec, where: Where) -> None:
    """scikit-learn's own check of the params' values, before any data is read."""
    validate = getattr(estimator, "_validate_params", None)
    if validate is None:  # not scikit-learn's: its fit will say
        return
    try:
        validate()
    except (ValueError, TypeError) as exc:
        named = _PARAM_NAMED.search(str(exc))
        key = (*step.key, "params", named[1]) if named and named[1] in step.params else (
            *step.key, "params")
        raise ConfigError(f"{where(key)}: {step.estimator} refused the value: {exc}") from None


def _check_transformer(estimator: Any, step: StepSpec, where: Where) -> None:
    if not (hasattr(estimator, "transform") or hasattr(estimator, "fit_transform")):
        raise ConfigError(
            f"{where((*step.key, 'estimator'))} is {describe_value(step.estimator)}, which does "
            "not transform data, so it can only be the last step; put preprocessing (such as "
            "sklearn.preprocessing.StandardScaler) before the model."
        )
