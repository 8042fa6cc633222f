"""The deploy side's commands: `fetch` a release, verified, and `predict` with it.

Typer declarations only; each calls one function in ``mlops_ci.commands``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from mlops_ci.cli import TokenOption, _exit, app

PublicKeyOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer reads the annotation at run time on Python 3.10
    typer.Option(
        "--public-key",
        metavar="<file>",
        help="The PEM public key the releases are signed with: the signature (model.sig) is "
        "verified with it. Default: release.signing.public_key of the repository's mlops.yaml.",
        show_default=False,
    ),
]


@app.command()
def fetch(
    target: Annotated[
        str,
        typer.Argument(
            metavar="NAME|TAG",
            help="A model's name (churn) or a release tag (v1.3.0, churn@v1.3.0).",
            show_default=False,
        ),
    ],
    version: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--version", metavar="<vX.Y.Z>", help="Fetch this version of NAME.",
                     show_default=False),
    ] = None,
    stage: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--stage", metavar="<stage>",
                     help="Fetch the version of NAME now in this stage (e.g. prod).",
                     show_default=False),
    ] = None,
    dest: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--dest", metavar="<dir>",
                     help="Where to put the verified files: a new directory, or a previous "
                     "fetch, replaced at once. Default: ./NAME-VERSION", show_default=False),
    ] = None,
    repo: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--repo", metavar="<owner/name>",
                     help="The GitHub repository to fetch from, its tags read through the API. "
                     "Default: the git repository here (its tags), releases from "
                     "$GITHUB_REPOSITORY or its origin.", show_default=False),
    ] = None,
    public_key: PublicKeyOption = None,
    github_token: TokenOption = None,
) -> None:
    """Download a release by tag, version or stage; verify every file (and the signature)
    before moving the set into --dest at once.

    Exit code 0: fetched and verified; 2: bad input, or the release does not verify (--dest
    is then left as it was).
    """
    from mlops_ci.commands.fetch import fetch as fetch_command

    _exit(
        fetch_command(
            cwd=Path.cwd(),
            target=target,
            version=version,
            stage=stage,
            dest=dest,
            repo=repo,
            public_key=public_key,
            github_token=github_token,
            env=os.environ,
            stdout=sys.stdout,
        )
    )


@app.command()
def predict(
    model: Annotated[
        Path, typer.Option("--model", metavar="<dir>", help="A directory `fetch` wrote.")
    ],
    input_path: Annotated[
        Path,
        typer.Option("--input", metavar="<file>", help="The table to score: .csv or .parquet."),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", metavar="<file>", help="Where to write the predictions (CSV)."),
    ],
    allow_pickle: Annotated[
        bool,
        typer.Option("--allow-pickle",
                     help="Load a pickle/joblib model. Loading a pickle runs code from the file: "
                     "only for a release whose signature you verified."),
    ] = False,
    public_key: PublicKeyOption = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", metavar="<n>", help="Rows scored at a time.")
    ] = 10_000,
    model_file: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--model-file", metavar="<name>",
                     help="Which model of a release that holds several.", show_default=False),
    ] = None,
) -> None:
    """Score a table with a fetched release, after verifying the directory; chunk by chunk.

    Exit code 0: scored; 2: bad input, or the directory does not verify (nothing is loaded).
    """
    from mlops_ci.commands.predict import predict as predict_command

    _exit(
        predict_command(
            model_dir=model,
            input_path=input_path,
            output_path=output,
            allow_pickle=allow_pickle,
            public_key=public_key,
            chunk_rows=chunk_rows,
            model_file=model_file,
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
    )
