"""The one way this tool runs git and dvc.

Every subprocess goes through :func:`run`: it logs the command, sets the environment DVC needs
(no analytics), and turns a failure into a :class:`CommandError` that carries the command, the
exit code and the tail of the output, so the user sees what went wrong without a traceback.

Each command starts in a session (and process group) of its own, so that everything it starts,
a pipeline stage's children included, can be stopped together: when its time limit expires,
when mlops-ci is interrupted, and when a process it left behind still holds its output open.
Output is read with a deadline, never with a blocking read that a stray process could hold.
"""

from __future__ import annotations

import collections
import logging
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TextIO

from mlops_ci.errors import CommandError, CommandTimeoutError
from mlops_ci.security import CREDENTIAL_VARIABLES, FILE_COMMAND_VARIABLES, log_safe

log = logging.getLogger(__name__)

TAIL_LINES = 20
KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL; the runner allows 7.5 s after SIGINT
DRAIN_GRACE = 1.0  # how long the output may stay open after the command itself exited
_POLL = 0.2  # how often a wait looks at the clock and at the process


_WITHHELD: set[str] = set()  # names tool_env() leaves out (withheld_from_tools)


@contextmanager
def withheld_from_tools(names: Iterable[str]) -> Iterator[None]:
    """Within the block, :func:`tool_env` leaves out the variables *names*: secrets that the
    command holds and git and dvc do not need (the release's signing key, the token)."""
    added = {name for name in names if name} - _WITHHELD
    _WITHHELD.update(added)
    try:
        yield
    finally:
        _WITHHELD.difference_update(added)


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for git and dvc: the caller's, without analytics or interactive prompts.

    Inside a virtualenv its bin directory goes first on PATH, as if it were activated, so that a
    stage's `python` is the interpreter mlops-ci runs with (the one that has the project's
    libraries), not whichever `python` the shell happens to find. Not inside a virtualenv that
    holds mlops-ci alone (the action's, or pipx's): there the stages keep the user's PATH.
    """
    env = {name: value for name, value in os.environ.items() if name not in _WITHHELD}
    env["DVC_NO_ANALYTICS"] = "true"
    env["GIT_TERMINAL_PROMPT"] = "0"
    if sys.prefix != sys.base_prefix and not isolated_venv(Path(sys.prefix)):
        bindir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([bindir, env.get("PATH", "")])
    if extra:
        env.update(extra)
    return env


def isolated_venv(prefix: Path) -> bool:
    """Whether the virtualenv at *prefix* is an application's own: the action's install step
    (`action_install.py`) or pipx made it, and the project's libraries are not in it."""
    from mlops_ci.action_install import ISOLATED_MARKER

    return (prefix / ISOLATED_MARKER).is_file() or (prefix / "pipx_metadata.json").is_file()


def stage_env(secrets: Iterable[str] = ()) -> dict[str, str]:
    """:func:`tool_env` for code mlops-ci does not trust (the pipeline's stages): no GitHub
    credentials, neither under their usual names nor under any name that holds a *secret*,
    and none of the runner's file commands (a stage must not set the step's `verdict`)."""
    secrets = [s for s in secrets if s]
    withheld = {*CREDENTIAL_VARIABLES, *FILE_COMMAND_VARIABLES}
    return {
        name: value
        for name, value in tool_env().items()
        if name.upper() not in withheld and not any(s in value for s in secrets)
    }


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
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run *cmd* in *cwd* and capture its output.

    By default stderr is merged into stdout, and with *stream* each line is also written there
    as it arrives (for `dvc repro`, whose progress the user wants to watch), defused by
    :func:`log_safe`: the output is not ours to let issue workflow commands. With
    *merge_stderr* false the two stay apart, for commands whose stdout is parsed. A non-zero
    exit raises CommandError when *check* is true; *what* names the action in that message
    ("git rev-parse", "dvc init", ...). After *timeout* seconds the command's process group is
    stopped and CommandTimeoutError raised, whatever *check* says.
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
            start_new_session=True,
        )
    except FileNotFoundError:
        raise CommandError(
            f"{cmd[0]} is not installed or not on PATH; install it and try again.",
            cmd=cmd,
            returncode=127,
            output_tail="",
        ) from None
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        pipes = _read_until_closed(proc, stream=stream, deadline=deadline)
    except _Expired as expired:
        stop_group(proc)
        output = expired.pipes.text(proc.stdout)
        raise CommandTimeoutError(
            f"{what or shlex.join(cmd[:2])} ran longer than its {format_seconds(timeout)} limit "
            "and was stopped.",
            cmd=cmd,
            timeout=timeout or 0.0,
            output=output,
            output_tail=output_tail(output),
        ) from None
    except BaseException:  # an interrupt, or a failure writing the stream: leave nothing behind
        stop_group(proc)
        raise
    finally:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    if pipes.held_open:
        log.warning(
            "%s ended, but a process it started still held its output open; mlops-ci stopped "
            "it. A stage should not leave processes running.",
            what or shlex.join(cmd[:2]),
        )
        stop_group(proc)
    returncode = proc.wait()
    stdout, stderr = pipes.text(proc.stdout), pipes.text(proc.stderr)
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


class _Pipes:
    """What was read from each of a process's pipes, as lines of text."""

    def __init__(self) -> None:
        self.lines: dict[int, list[str]] = {}
        self.partial: dict[int, bytes] = {}
        self.held_open = False

    def text(self, pipe: IO[bytes] | None) -> str:
        return "" if pipe is None else "".join(self.lines.get(id(pipe), []))

    def add(self, key: int, data: bytes, stream: TextIO | None) -> None:
        """Split *data* into lines (the last one may come in the next chunk), and stream them."""
        buffered = self.partial.get(key, b"") + data
        *complete, rest = buffered.split(b"\n")
        self.partial[key] = rest
        for raw in complete:
            self._line(key, raw + b"\n", stream)

    def finish(self, key: int, stream: TextIO | None) -> None:
        rest = self.partial.pop(key, b"")
        if rest:
            self._line(key, rest, stream)

    def _line(self, key: int, raw: bytes, stream: TextIO | None) -> None:
        line = raw.decode("utf-8", errors="replace")
        self.lines.setdefault(key, []).append(line)
        if stream is not None:
            stream.write(log_safe(line))
            stream.flush()


class _Expired(Exception):
    def __init__(self, pipes: _Pipes) -> None:
        self.pipes = pipes


def _read_until_closed(
    proc: subprocess.Popen[bytes], *, stream: TextIO | None, deadline: float | None
) -> _Pipes:
    """Read every pipe of *proc* to its end and wait for it to exit, or until *deadline*
    (then raise _Expired).

    When the process has exited but something it started keeps a pipe open, reading stops
    DRAIN_GRACE seconds later and ``held_open`` says so.
    """
    pipes = _Pipes()
    with selectors.DefaultSelector() as selector:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                os.set_blocking(pipe.fileno(), False)
                selector.register(pipe, selectors.EVENT_READ, id(pipe))
        exited_at: float | None = None
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise _Expired(pipes)
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if not selector.get_map():  # every pipe closed: wait for the process itself
                try:
                    proc.wait(timeout=None if deadline is None else deadline - now)
                except subprocess.TimeoutExpired:
                    raise _Expired(pipes) from None
                break
            wait = max(0.0, _POLL if deadline is None else min(_POLL, deadline - now))
            if exited_at is not None and now - exited_at >= DRAIN_GRACE:
                pipes.held_open = True
                break
            for key, _ in selector.select(wait):
                data = os.read(key.fd, 65536)
                if data:
                    pipes.add(key.data, data, stream)
                else:
                    selector.unregister(key.fileobj)
                    pipes.finish(key.data, stream)
        for key in list(selector.get_map().values()):
            pipes.finish(key.data, stream)
    return pipes


def stop_group(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE) -> None:
    """Stop *proc*'s process group: SIGTERM, then SIGKILL for whatever is left after *grace*.

    The group outlives its leader while a child of it runs, so it is stopped even when *proc*
    itself has exited. A second interrupt during the grace goes straight to SIGKILL.
    """
    pgid = proc.pid  # start_new_session: the leader's pid names its group
    if not _signal_group(pgid, signal.SIGTERM):
        proc.poll()
        return
    end = time.monotonic() + grace
    try:
        while time.monotonic() < end:
            proc.poll()  # reap the leader, so that it does not count as alive
            if not _signal_group(pgid, 0):
                return
            time.sleep(0.05)
    finally:
        _signal_group(pgid, signal.SIGKILL)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log.warning("process %d did not end after SIGKILL", proc.pid)


def _signal_group(pgid: int, signum: int) -> bool:
    """Send *signum* to the group; False when no live process is left in it."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process that changed its user: not ours to stop
        return False
    return True


def format_seconds(seconds: float | None) -> str:
    """12 s, 30 min, 2 h, 1 h 30 min: a limit as people write it."""
    if seconds is None:
        return "no"
    total = round(seconds)
    if total < 60 or seconds != total:
        return f"{seconds:g} s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "",
             f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p)


def output_tail(output: str, lines: int = TAIL_LINES) -> str:
    """The last *lines* non-empty lines of *output*, indented for a message."""
    kept = collections.deque((ln for ln in output.splitlines() if ln.strip()), maxlen=lines)
    return "\n".join(f"    {ln}" for ln in kept)


def git(*args: str, cwd: Path, check: bool = True) -> str:
    """Run `git ARGS` and return its stripped stdout (stderr is kept apart, for the message)."""
    result = run(["git", *args], cwd=cwd, check=check, what=f"git {args[0]}", merge_stderr=False)
    return result.stdout.strip()
