"""mlops.yaml's `train` section: which modules `mlops-ci train` may take an estimator from.

scikit-learn's (``sklearn``) always; `train.allowed_modules` adds others (``xgboost``,
``lightgbm``). The schema has checked each entry's shape; here the entries no estimator can
come from are refused: the standard library (``os``, ``subprocess``, ``builtins``) and private
modules. See docs/train.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_ci.config_yaml import Positions
from mlops_ci.config_yaml import at as _at
from mlops_ci.errors import ConfigError

DEFAULT_ALLOWED_MODULES: tuple[str, ...] = ("sklearn",)
# A dotted module name of public identifiers: no `_private` part, no `/`, no `..`.
MODULE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")


@dataclass(frozen=True)
class TrainConfig:
    # scikit-learn's first, then what mlops.yaml adds; a module allows its submodules
    allowed_modules: tuple[str, ...] = DEFAULT_ALLOWED_MODULES


def train_config(section: Mapping[str, Any], positions: Positions, name: str) -> TrainConfig:
    """`train:` as the schema has checked it, with the modules no estimator lives in refused."""
    added = list(section.get("allowed_modules") or ())
    for index, module in enumerate(added):
        where = _at(name, positions, ("train", "allowed_modules", index))
        problem = module_problem(module)
        if problem:
            raise ConfigError(
                f"{where}: train.allowed_modules[{index}] is {module!r}, {problem}; list the "
                "top-level package of an estimator library, such as xgboost or lightgbm."
            )
    return TrainConfig(allowed_modules=tuple(dict.fromkeys([*DEFAULT_ALLOWED_MODULES, *added])))


def module_problem(module: object) -> str | None:
    """Why *module* cannot be an allowed module, or None."""
    if not isinstance(module, str) or not MODULE_NAME.fullmatch(module):
        return "not a dotted module name of public identifiers (letters, digits and '_')"
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top == "mlops_ci":
        return "a module of Python's standard library (or mlops-ci's own), where no estimator is"
    return None
