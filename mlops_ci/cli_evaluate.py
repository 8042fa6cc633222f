"""The `evaluate` command's declaration (registered on the app of ``mlops_ci.cli``)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlops_ci.cli import _exit, app


class Task(str, Enum):
    binary = "binary"
    multiclass = "multiclass"
    regression = "regression"


def _slice_specs(given: list[str] | None) -> list[list[str]] | None:
    """`--slice sex --slice sex,age_group` as slice specs; None when no --slice was given."""
    if given is None:
        return None
    specs = []
    for text in given:
        names = [name.strip() for name in text.split(",")]
        if not all(names):
            raise typer.BadParameter(
                f"{text!r} is not a column name or comma-separated column names.",
                param_hint="--slice",
            )
        specs.append(names)
    return specs


@app.command()
def evaluate(
    model: Annotated[
        Path, typer.Option("--model", help="The model file: .skops (or a pickle, see below).")
    ],
    data: Annotated[
        Path, typer.Option("--data", help="The test table: a .csv or .parquet file.")
    ],
    target: Annotated[
        str, typer.Option("--target", metavar="<column>", help="The column the model predicts.")
    ],
    task: Annotated[
        Optional[Task],  # noqa: UP045 - typer reads the annotation at run time on Python 3.10
        typer.Option(
            "--task",
            help="Default: mlops.yaml's model.task, else the model's kind (a classifier's "
            "number of classes).",
            show_default=False,
        ),
    ] = None,
    id_column: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--id", metavar="<column>", help="A row id column, copied into the predictions.",
            show_default=False,
        ),
    ] = None,
    slices: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--slice",
            metavar="<column[,column]>",
            help="Metrics per value of a column (or per combination: sex,age_group); "
            "repeatable. Default: mlops.yaml's evaluation.slices.",
            show_default=False,
        ),
    ] = None,
    predictions: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--predictions",
            help="The per-row predictions (parquet; a DVC out). Default: mlops.yaml's "
            "evaluation.predictions, else eval/predictions.parquet.",
            show_default=False,
        ),
    ] = None,
    metrics: Annotated[
        Path,
        typer.Option("--metrics", help="metrics.json; evaluation.json is written beside it."),
    ] = Path("eval/metrics.json"),
    plots: Annotated[
        Path, typer.Option("--plots", help="The directory of the plot data and images.")
    ] = Path("eval/plots"),
    confidence: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--confidence", help="The intervals' level. Default: mlops.yaml's, else 0.95.",
            show_default=False,
        ),
    ] = None,
    replicates: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--replicates", help="Bootstrap replicates (>= 100). Default: mlops.yaml's, else 1000.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option(
            "--seed", help="The bootstrap's seed. Default: mlops.yaml's, else 0.",
            show_default=False,
        ),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", help="Rows read, scored and evaluated at a time.")
    ] = 100_000,
    allow_pickle: Annotated[
        bool,
        typer.Option(
            "--allow-pickle",
            help="Load a pickle (joblib) model. A pickle RUNS CODE from the file as it loads: "
            "only for a file you made or trust.",
        ),
    ] = False,
    info: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--info",
            help="The training sidecar whose trusted types load the model. Default: "
            "<model stem>.train.json beside the model, when it exists.",
            show_default=False,
        ),
    ] = None,
    no_images: Annotated[
        bool, typer.Option("--no-images", help="Write the plot data only, no PNG images.")
    ] = False,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="No progress bar on standard error.")
    ] = False,
    config: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--config",
            help="mlops.yaml. Default: $MLOPS_CI_CONFIG, else ./mlops.yaml when it exists.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Evaluate a model on a test table, streaming (a DVC stage command): per-row predictions,
    metrics.json, intervals and slices in evaluation.json, plot data and images.

    Exit code 0: evaluated; 2: bad input (the data, the model, mlops.yaml).
    """
    from mlops_ci.commands.evaluate import evaluate as evaluate_command

    _exit(
        evaluate_command(
            model=model,
            data=data,
            target=target,
            task=task.value if task is not None else None,
            id_column=id_column,
            slices=_slice_specs(slices),
            predictions=predictions,
            metrics=metrics,
            plots=plots,
            confidence=confidence,
            replicates=replicates,
            seed=seed,
            chunk_rows=chunk_rows,
            allow_pickle=allow_pickle,
            info=info,
            images=not no_images,
            progress=not no_progress,
            config_file=config,
            env=os.environ,
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
    )
