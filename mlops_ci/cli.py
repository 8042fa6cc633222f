"""The command line: declares commands and options, and calls one plain function for each.

Typer stays in this module. Heavy imports happen inside the command functions, so that
`mlops-ci --help` is instant.
"""

from __future__ import annotations

import logging
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from mlops_ci import __version__

app = typer.Typer(
    name="mlops-ci",
    help=(
        "Reproduce a DVC pipeline, compare the model with the base branch, hold it to the "
        "gates in mlops.yaml, write a model card and report the metric diff."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

BaseOption = Annotated[
    Optional[str],  # noqa: UP045 - typer reads the annotation at run time on Python 3.10
    typer.Option(
        "--base",
        help="Revision to compare with. Default: the merge-base with $GITHUB_BASE_REF, "
        "else with main or master, else HEAD.",
        show_default=False,
    ),
]
ReportOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--report",
        help="A report.json written by `run` or `diff --format json`. Default: "
        ".mlops/report.json, else the workspace compared now.",
        show_default=False,
    ),
]


TokenOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        "--github-token",
        metavar="<token>",
        help="Token for the GitHub API. Default: $GITHUB_TOKEN (prefer it: a command line "
        "can be seen by other processes).",
        show_default=False,
    ),
]


class Format(str, Enum):
    table = "table"
    md = "md"
    json = "json"


def debug_requested(args: list[str]) -> bool:
    return "--debug" in args or os.environ.get("MLOPS_CI_DEBUG", "") not in ("", "0", "false")


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _exit(code: int) -> NoReturn:
    """End a command with its exit code (typer's standalone mode ignores return values)."""
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"mlops-ci {__version__}")
        raise typer.Exit()


QUIET_LOGGERS = ("urllib3", "requests")


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Log every command and request; show tracebacks.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    from mlops_ci.security import LogSafeFormatter

    handler = logging.StreamHandler()
    # on the runner's log a record's text (a path, DVC's words) must not issue a command
    handler.setFormatter(LogSafeFormatter("mlops-ci: %(levelname)s: %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, handlers=[handler])
    logging.captureWarnings(True)  # Python warnings too: through the same defused handler
    # urllib3 logs each request line at DEBUG, query included, and a storage URL's query is
    # its credentials (a signed link to an asset): mlops-ci logs its requests itself, without.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to create the example project.")],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite files that already exist.")
    ] = False,
    no_workflows: Annotated[
        bool,
        typer.Option("--no-workflows", help="Do not write the workflows in .github/workflows/."),
    ] = False,
    fork_safe: Annotated[
        bool,
        typer.Option(
            "--fork-safe",
            help="Write the fork-safe report + comment workflows instead of the single "
            "pull-request workflow.",
        ),
    ] = False,
    deploy: Annotated[
        bool,
        typer.Option(
            "--deploy",
            help="Also write mlops-ci-deploy.yml, which deploys a stage's model on every "
            "stage tag (mlops-ci assign).",
        ),
    ] = False,
    template: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--template",
            metavar="<name>",
            help="classification or regression: a project on mlops-ci's built-in train and "
            "evaluate stages, with slices and evidence gates. Default: the breast-cancer "
            "example with its own scripts.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Scaffold a complete example project: git + DVC, a pipeline, params, gates, workflows."""
    from mlops_ci.commands.init import init as init_command

    _exit(
        init_command(
            directory=directory,
            force=force,
            workflows=not no_workflows,
            fork_safe=fork_safe,
            deploy=deploy,
            template=template,
            stdout=sys.stdout,
        )
    )


@app.command()
def run(
    base: BaseOption = None,
    no_repro: Annotated[
        bool, typer.Option("--no-repro", help="Use the results in the workspace as they are.")
    ] = False,
    out: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--out",
            help="Where to write the report and the card. Default: .mlops/",
            show_default=False,
        ),
    ] = None,
    github_token: TokenOption = None,
    timeout: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--timeout",
            metavar="<duration>",
            help="How long `dvc repro` may run, e.g. 90s, 30m, 2h. Default: pipeline.timeout "
            "in mlops.yaml, else 2h on GitHub Actions, else no limit.",
            show_default=False,
        ),
    ] = None,
    pull: Annotated[
        Optional[bool],  # noqa: UP045
        typer.Option(
            "--pull/--no-pull",
            help="Fetch missing inputs and cached outputs from the DVC remote first "
            "(`dvc repro --pull`). Default: pipeline.pull in mlops.yaml, else no.",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--target",
            metavar="<stage>",
            help="A stage of dvc.yaml to reproduce, with what it depends on (repeatable). "
            "Default: pipeline.targets in mlops.yaml, else the whole pipeline.",
            show_default=False,
        ),
    ] = None,
    repro_flag: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option(
            "--repro-flag",
            metavar="<flag>",
            help="A `dvc repro` flag to pass on (repeatable): force, single-item, pipeline, "
            "all-pipelines, downstream, force-downstream, allow-missing or no-run-cache. "
            "Default: pipeline.flags in mlops.yaml.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Reproduce the pipeline, compare with the base, evaluate the gates, write the report.

    On GitHub Actions it also posts the sticky pull-request comment and writes the job
    summary, the step outputs and an annotation per failed gate.

    Exit code 0: every error-severity gate passed; 1: a gate failed; 2: bad input.
    """
    from mlops_ci.commands.run import run as run_command

    _exit(
        run_command(
            cwd=Path.cwd(),
            base=base,
            reproduce=not no_repro,
            out=out,
            env=os.environ,
            color=_color(),
            stdout=sys.stdout,
            stderr=sys.stderr,
            github_token=github_token,
            timeout=timeout,
            targets=target or (),
            pull=pull,
            repro_flags=repro_flag or (),
        )
    )


@app.command()
def comment(
    report: Annotated[
        Path,
        typer.Option(
            "--report", help="The report.json to publish (from the pull_request workflow)."
        ),
    ] = Path(".mlops/report.json"),
    pr: Annotated[
        Optional[str],  # noqa: UP045 - checked by the command: one clear message
        typer.Option(
            "--pr",
            metavar="<number>",
            help="The pull request's number. Default: the one the event names.",
            show_default=False,
        ),
    ] = None,
    key: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(
            "--key",
            metavar="<key>",
            help="The comment key. Default: comment.key of ./mlops.yaml, else 'default'.",
            show_default=False,
        ),
    ] = None,
    check_run: Annotated[
        bool,
        typer.Option(
            "--check-run",
            help="Report the verdict as a check run (GitHub App tokens only); a status otherwise.",
        ),
    ] = False,
    github_token: TokenOption = None,
) -> None:
    """Post a report.json as the sticky pull-request comment, and set a commit status.

    The second workflow of the fork-safe pattern (on: workflow_run) runs it with the artifact
    the pull_request workflow uploaded. Exit code 0: published; 2: bad input.
    """
    from mlops_ci.commands.comment import comment as comment_command

    _exit(
        comment_command(
            cwd=Path.cwd(),
            report_path=report,
            pr=pr,
            key=key,
            github_token=github_token,
            check_run=check_run,
            env=os.environ,
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
    )


@app.command()
def diff(
    base: BaseOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Compare the workspace's metrics and params with the base, without reproducing."""
    from mlops_ci.commands.diff import diff as diff_command

    _exit(
        diff_command(
            cwd=Path.cwd(),
            base=base,
            fmt=fmt.value,
            env=os.environ,
            color=_color(),
            stdout=sys.stdout,
        )
    )


@app.command()
def gate(report: ReportOption = None) -> None:
    """Evaluate mlops.yaml's gates against a report. Exit code 1 when one fails."""
    from mlops_ci.commands.gate import gate as gate_command

    _exit(
        gate_command(
            cwd=Path.cwd(), report_path=report, env=os.environ, color=_color(), stdout=sys.stdout
        )
    )


@app.command()
def card(
    report: ReportOption = None,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--output",
            "-o",
            help="Where to write the card; '-' prints it. Default: .mlops/model-card.md",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Render the model card (markdown with Hugging Face metadata) from a report."""
    from mlops_ci.commands.card import card as card_command

    _exit(
        card_command(
            cwd=Path.cwd(),
            report_path=report,
            output=output,
            env=os.environ,
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
    )


@app.command()
def doctor(
    base: BaseOption = None,
    github_token: TokenOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check that the repository is ready for mlops-ci: git history, DVC remote and data,
    mlops.yaml, workflows and the token. Each finding comes with its fix.

    Exit code 0: ready (warnings do not block); 1: something blocks a run; 2: bad input.
    """
    from mlops_ci.commands.doctor import doctor as doctor_command

    _exit(
        doctor_command(
            cwd=Path.cwd(),
            base=base,
            github_token=github_token,
            as_json=as_json,
            env=os.environ,
            color=_color(),
            stdout=sys.stdout,
            stderr=sys.stderr,
        )
    )


# The commands of other areas register themselves on `app` (one import line each).
from mlops_ci import cli_deploy, cli_evaluate, cli_registry, cli_release, cli_train  # noqa: E402, F401
