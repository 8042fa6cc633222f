"""`mlops-ci train`: fit the estimator params.yaml names on a table, save it and its sidecar."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from mlops_ci.commands.common import local_config
from mlops_ci.config_train import TrainConfig
from mlops_ci.security import log_safe


def train(
    *,
    data: Path,
    target: str,
    out: Path,
    params_file: Path = Path("params.yaml"),
    params_key: str = "model",
    features: Sequence[str] | None = None,
    drop: Sequence[str] = (),
    fmt: str = "skops",
    info: Path | None = None,
    seed: int = 0,
    config_file: Path | None = None,
    env: Mapping[str, str],
    stderr: TextIO,
) -> int:
    """Train, save *out* and its sidecar (*info*, default ``<model stem>.train.json``); exit 0.

    Relative paths are relative to the working directory (a DVC stage's `wdir`), and are
    recorded as given. mlops.yaml (*config_file*, else the file $MLOPS_CI_CONFIG names, else
    ./mlops.yaml when it exists) may extend the modules estimators come from
    (`train.allowed_modules`).
    """
    from mlops_ci.evaluation.train import train_model

    trained = train_model(
        data=data,
        target=target,
        out=out,
        params_file=params_file,
        params_key=params_key,
        allowed_modules=_train_config(config_file, env).allowed_modules,
        features=features,
        drop=drop,
        fmt=fmt,
        info=info,
        seed=seed,
    )
    shape = trained.info["data"]
    print(
        log_safe(
            f"mlops-ci: trained {trained.info['estimator']} on {shape['rows']} rows and "
            f"{shape['n_features']} features in {trained.info['training_seconds']:.2f} s; wrote "
            f"{out} and {trained.info_path}"
        ),
        file=stderr,
    )
    return 0


def _train_config(config_file: Path | None, env: Mapping[str, str]) -> TrainConfig:
    config = local_config(config_file, env)
    return TrainConfig() if config is None else config.train  # none: scikit-learn's only
