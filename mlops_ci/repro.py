"""`dvc repro`: the pipeline run as the pull request's code, bounded in time, its failure named.

The stages run in a process group of their own with no GitHub credential and none of the
runner's file commands (``proc.stage_env``); a failure's message names the stage, its command
and the fix, a timeout the stage that was running and where the limit was set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mlops_ci.errors import CommandTimeoutError, PipelineError
from mlops_ci.missing_data import missing_data_message
from mlops_ci.proc import dvc_command, format_seconds, output_tail, run, stage_env
from mlops_ci.repro_options import ReproOptions

# `ERROR: failed to reproduce 'train': failed to run: python src/train.py, exited with 1`
_FAILED_STAGE = re.compile(r"failed to reproduce '(?P<stage>[^']+)'")
_FAILED_CMD = re.compile(r"failed to run: (?P<cmd>.+?), exited with (?P<code>-?\d+)")
# `Running stage 'train':`, printed as each stage starts
_RUNNING_STAGE = re.compile(r"^Running stage '(?P<stage>[^']+)':", re.MULTILINE)



def repro(
    root: Path,
    *,
    stream: TextIO | None,
    timeout: Timeout | None = None,
    secrets: Iterable[str] = (),
    options: ReproOptions | None = None,
) -> None:
    """Run `dvc repro`, streaming its output; a failure names the stage, its command and output.

    *options* are its targets, `--pull` and flags, checked already (repro_options.py).

    The stages are the pull request's code: they run without GitHub credentials (any variable
    holding one of *secrets* is left out too), and within *timeout*, after which their whole
    process group is stopped and the message names the stage that was running.
    """
    try:
        result = run(
            dvc_command("repro", *(options.args() if options else ())),
            cwd=root,
            check=False,
            stream=stream,
            env=stage_env(secrets),
            what="`dvc repro`",
            timeout=timeout.seconds if timeout else None,
        )
    except CommandTimeoutError as exc:
        assert timeout is not None
        stages = _RUNNING_STAGE.findall(exc.output)
        error = PipelineError(
            _timeout_message(exc.output, timeout, shown=stream is not None), cmd=exc.cmd,
            returncode=exc.returncode, output_tail=exc.output_tail,
        )
        error.stage = stages[-1] if stages else None
        raise error from None
    if result.returncode == 0:
        return
    output = result.stdout
    tail = output_tail(output)
    # Streamed output is on the terminal already: the message does not print it again.
    shown = "; its output is above." if stream is not None else f"; the last lines:\n{tail}"
    stage = _FAILED_STAGE.search(output)
    cmd = _FAILED_CMD.search(output)
    missing = missing_data_message(
        output, root=root, pulled=bool(options and options.pull),
        forced=bool(options and "--force" in options.flags),
    )
    if missing:
        message = missing
    elif stage and cmd:
        message = (
            f"`dvc repro` failed in stage '{stage['stage']}': its command `{cmd['cmd']}` exited "
            f"with code {cmd['code']}. Fix the stage and run again"
            f"{shown}"
        )
    else:
        message = (
            f"`dvc repro` failed (exit code {result.returncode}). Fix the pipeline and run again"
            f"{shown}"
        )
    error = PipelineError(message, cmd=result.args, returncode=result.returncode,
                          output_tail=tail)
    error.stage = stage["stage"] if stage else None
    raise error


@dataclass(frozen=True)
class Timeout:
    """How long `dvc repro` may run, and where that limit was set (for the message)."""

    seconds: float
    source: str  # "--timeout", "pipeline.timeout in mlops.yaml", "the default on GitHub Actions"


# GitHub-hosted jobs end after 6 hours. A limit well inside that still names the stage and
# leaves the run time to report, and a hung stage stops burning runner minutes after 2 hours.
ACTIONS_DEFAULT_TIMEOUT = 2 * 3600.0


def repro_timeout(
    option: float | None, configured: float | None, env: Mapping[str, str]
) -> Timeout | None:
    """The limit for `dvc repro`: --timeout, else pipeline.timeout, else on Actions a default."""
    if option is not None:
        return Timeout(option, "--timeout")
    if configured is not None:
        return Timeout(configured, "pipeline.timeout in mlops.yaml")
    if env.get("GITHUB_ACTIONS") == "true":
        return Timeout(ACTIONS_DEFAULT_TIMEOUT, "the default on GitHub Actions")
    return None


def _timeout_message(output: str, timeout: Timeout, *, shown: bool = False) -> str:
    stages = _RUNNING_STAGE.findall(output)
    where = f"in stage '{stages[-1]}'" if stages else "before any stage started"
    tail = output_tail(output)
    return (
        f"`dvc repro` was stopped {where}: it ran longer than the {format_seconds(timeout.seconds)}"
        f" limit ({timeout.source}). Make the stage faster, or raise the limit with "
        "`pipeline.timeout` in mlops.yaml (e.g. `timeout: 4h`) or `mlops-ci run --timeout`"
        + ("." if shown or not tail else f"; the last lines it printed:\n{tail}")
    )
