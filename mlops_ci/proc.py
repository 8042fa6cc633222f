"""The one way this tool runs git and dvc.

Every subprocess goes through :func:`run`: it logs the command, sets the environment DVC needs
(no analytics), and turns a failure into a :class:`CommandError` that carries the command, the
exit code and the tail of the output, so the user sees what went wrong without a traceback.
"""

from __future__ import annotations

import collections
import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from mlops_ci.errors import CommandError

log = logging.getLogger(__name__)

TAIL_LINES = 20


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git and dvc: the caller's, without analytics or interactive prompts.

    Inside a virtualenv its bin directory goes first on PATH, as if it were activated, so that a
    stage's `python` is the interpreter mlops-ci runs with (the one that has the project's
    libraries), not whichever `python` the shell happens to find.
    """
    env = dict(os.environ)
    env["DVC_NO_ANALYTICS"] = "true"
    env["GIT_TERMINAL_PROMPT"] = "0"
    if sys.prefix != sys.base_prefix:
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([bindir, env.get("PATH", "")])
    if extra:
        env.update(extra)
    return env


def dvc_command(*args: str) -> list[str]:
    """`dvc ARGS` run by this interpreter, so it is the dvc mlops-ci was installed with."""
    return [sys.executable, "-m", "dvc", *args]


def run(
    cmd: Sequence[str],
    *,
    cwd: Path,
    check: bool = True,
    stream: TextIO | None = None,
    env: Mapping[str, str] | None = None,
    what: str | None = None,
    merge_stderr: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run *cmd* in *cwd* and capture its output.

    By default stderr is merged into stdout, and with *stream* each line is also written there
    as it arrives (for `dvc repro`, whose progress the user wants to watch). With
    *merge_stderr* false the two stay apart, for commands whose stdout is parsed. A non-zero
    exit raises CommandError when *check* is true; *what* names the action in that message
    ("git rev-parse", "dvc init", ...).
    """
    cmd = list(cmd)
    log.debug("running: %s (in %s)", shlex.join(cmd), cwd)
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=dict(env) if env is not None else tool_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
    except FileNotFoundError:
        raise CommandError(
            f"{cmd[0]} is not installed or not on PATH; install it and try again.",
            cmd=cmd,
            returncode=127,
            output_tail="",
        ) from None
    if merge_stderr:
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if stream is not None:
                stream.write(line)
                stream.flush()
        stdout, stderr = "".join(lines), ""
    else:
        stdout, stderr = proc.communicate()
    returncode = proc.wait()
    if check and returncode != 0:
        tail = output_tail(stderr or stdout)
        name = what or shlex.join(cmd[:2])
        raise CommandError(
            f"{name} failed (exit code {returncode}):\n{tail}",
            cmd=cmd,
            returncode=returncode,
            output_tail=tail,
        )
    return subprocess.CompletedProcess(cmd, returncode, stdout, stderr)


def output_tail(output: str, lines: int = TAIL_LINES) -> str:
    """The last *lines* non-empty lines of *output*, indented for a message."""
    kept = collections.deque((ln for ln in output.splitlines() if ln.strip()), maxlen=lines)
    return "\n".join(f"    {ln}" for ln in kept)


def git(*args: str, cwd: Path, check: bool = True) -> str:
    """Run `git ARGS` and return its stripped stdout (stderr is kept apart, for the message)."""
    result = run(["git", *args], cwd=cwd, check=check, what=f"git {args[0]}", merge_stderr=False)
    return result.stdout.strip()
