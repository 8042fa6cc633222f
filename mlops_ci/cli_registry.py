"""The registry's commands, GTO's verbs: assign (promote), unassign, deprecate, registry
(show) and check-ref. Typer declarations only; the logic is in ``commands/``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlops_ci.cli import _exit, app

NameArgument = Annotated[str, typer.Argument(help="The model's name in the registry (churn).")]
StageOption = Annotated[
    str, typer.Option("--stage", help="The stage, e.g. prod or staging.", show_default=False)
]
MessageOption = Annotated[
    Optional[str],  # noqa: UP045 - typer reads the annotation at run time on Python 3.10
    typer.Option(
        "--message", "-m", help="A note for the tag's message (why).", show_default=False
    ),
]
PushOption = Annotated[
    bool,
    typer.Option(
        "--push/--no-push",
        help="Push the new tag to the remote (only that tag); --no-push tags locally only.",
    ),
]
RemoteOption = Annotated[str, typer.Option("--remote", help="The git remote to push to.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

_ASSIGN_HELP = (
    "Put a version of a model in a stage: writes and pushes the annotated tag NAME#STAGE#N "
    "(GTO's `assign`), carrying the version's gate record. Assigning an older version is a "
    "rollback.\n\nExit code 0: assigned, or already in that stage; 2: refused."
)


def _assign(
    name: NameArgument,
    version: Annotated[
        str,
        typer.Argument(help="The version: vX.Y.Z, or its tag (churn@v1.3.0, v1.3.0)."),
    ],
    stage: StageOption,
    message: MessageOption = None,
    push: PushOption = True,
    remote: RemoteOption = "origin",
) -> None:
    from mlops_ci.commands.assign import assign

    _exit(
        assign(
            cwd=Path.cwd(),
            name=name,
            version=version,
            stage=stage,
            message=message,
            push=push,
            remote=remote,
            stdout=sys.stdout,
        )
    )


app.command("assign", help=_ASSIGN_HELP)(_assign)
app.command("promote", help=f"The same as assign. {_ASSIGN_HELP}")(_assign)


@app.command()
def unassign(
    name: NameArgument,
    stage: StageOption,
    message: MessageOption = None,
    push: PushOption = True,
    remote: RemoteOption = "origin",
) -> None:
    """Take the version now in a stage out of it: the tag NAME#STAGE!#N (GTO's `unassign`).

    The stage goes back to the version assigned to it before, if any.
    """
    from mlops_ci.commands.assign import unassign as unassign_command

    _exit(
        unassign_command(
            cwd=Path.cwd(),
            name=name,
            stage=stage,
            message=message,
            push=push,
            remote=remote,
            stdout=sys.stdout,
        )
    )


@app.command()
def deprecate(
    name: NameArgument,
    message: MessageOption = None,
    push: PushOption = True,
    remote: RemoteOption = "origin",
) -> None:
    """Retire a model: the tag NAME@deprecated (GTO's `deprecate`); it then lists no versions."""
    from mlops_ci.commands.assign import deprecate as deprecate_command

    _exit(
        deprecate_command(
            cwd=Path.cwd(),
            name=name,
            message=message,
            push=push,
            remote=remote,
            stdout=sys.stdout,
        )
    )


_REGISTRY_HELP = (
    "Print the model registry like `gto show`: each model's latest version and the version "
    "in each stage; with NAME, its versions, stages, commits and dates. --json without NAME "
    "prints what `gto show --json` prints."
)


def _registry(
    name: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="A model: list its versions.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    from mlops_ci.commands.registry import registry

    _exit(registry(cwd=Path.cwd(), name=name, as_json=as_json, stdout=sys.stdout))


app.command("registry", help=_REGISTRY_HELP)(_registry)
app.command("show", help=f"The same as registry. {_REGISTRY_HELP}")(_registry)


@app.command("check-ref")
def check_ref(
    ref: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="A tag. Default: the tag of $GITHUB_REF.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Say what a registry tag names (model, action, version, stage, counter), parsed with
    GTO's grammar; on GitHub Actions also as step outputs. Exit code 2 for any other tag."""
    from mlops_ci.commands.check_ref import check_ref as check_ref_command

    _exit(check_ref_command(ref=ref, as_json=as_json, env=os.environ, stdout=sys.stdout))
