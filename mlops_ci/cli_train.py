"""The `train` command's declaration (registered on the app of ``mlops_ci.cli``)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlops_ci.cli import _exit, app


class ModelFormat(str, Enum):
    skops = "skops"
    joblib = "joblib"


def _names(text: str | None) -> list[str]:
    return [name.strip() for name in (text or "").split(",") if name.strip()]


@app.command()
def train(
    data: Annotated[
        Path, typer.Option("--data", help="The training table: a .csv or .parquet file.")
    ],
    target: Annotated[
        str, typer.Option("--target", metavar="<column>", help="The column to predict.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Where to save the model, e.g. model.skops.")
    ],
    features: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time on Python 3.10
        typer.Option(
            "--features",
            metavar="<a,b,c>",
            help="The feature columns, comma-separated. Default: every column but the target.",
            show_default=False,
        ),
    ] = None,
    drop: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--drop",
            metavar="<column>",
            help="A column not to train on, such as an id (repeatable, or comma-separated).",
            show_default=False,
        ),
    ] = None,
    params: Annotated[
        Path, typer.Option("--params", help="The params file that names the estimator.")
    ] = Path("params.yaml"),
    params_key: Annotated[
        str,
        typer.Option(
            "--params-key", metavar="<key>", help="Its section (dotted for a nested one)."
        ),
    ] = "model",
    fmt: Annotated[
        ModelFormat,
        typer.Option(
            "--format",
            help="skops loads without running code; joblib is a pickle, which RUNS CODE from "
            "the file when it is loaded: only for files you trust.",
        ),
    ] = ModelFormat.skops,
    info: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--info",
            help="Where to write the sidecar JSON (estimator, params, data shape, versions, "
            "trusted types). Default: <model stem>.train.json beside the model.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int,
        typer.Option("--seed", help="random_state for estimators whose params do not set it."),
    ] = 0,
    config: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--config",
            help="mlops.yaml, whose train.allowed_modules may add estimator libraries. "
            "Default: $MLOPS_CI_CONFIG, else ./mlops.yaml when it exists.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Train the scikit-learn estimator params.yaml names and save it (a DVC stage command).

    Only classes from scikit-learn (and the modules mlops.yaml's train.allowed_modules adds)
    are built; nothing else in params.yaml is code. Exit code 0: trained; 2: bad input.
    """
    from mlops_ci.commands.train import train as train_command

    _exit(
        train_command(
            data=data,
            target=target,
            out=out,
            params_file=params,
            params_key=params_key,
            features=_names(features) or None,
            drop=[name for given in drop or () for name in _names(given)],
            fmt=fmt.value,
            info=info,
            seed=seed,
            config_file=config,
            env=os.environ,
            stderr=sys.stderr,
        )
    )
