"""The action's run step: its inputs, read from the environment, become one mlops-ci command.

action.yml passes every input through `env:` (never through `${{ }}` inside `run:`) and runs
this file by path with the job's `python3` (``python3 -I``). It uses the standard library
only, so that it works whichever mlops-ci it starts: the one the install step put in its own
virtualenv, or, with `install: "false"`, the `mlops-ci` already on PATH.

`args` is data: it is split with :func:`shlex.split` here, never by a shell. A command that
mlops-ci does not have is passed on all the same, so that the user sees mlops-ci's own usage
error (exit code 2). With `fail-on-gate: false` a failed gate (exit code 1) keeps the step
green; the step output `verdict` still says `fail`. Errors (exit code 2) always fail it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
_COMMAND = re.compile(r"[a-z][a-z0-9-]*")


class InputError(Exception):
    """An input the action cannot use: one or two sentences naming it and the fix."""


@dataclass(frozen=True)
class Inputs:
    """The action's inputs, as action.yml passes them (empty: not given)."""

    command: str = "run"
    args: str = ""
    base: str = ""
    repro: str = "true"
    pull: str = ""
    timeout: str = ""
    config: str = ""
    fail_on_gate: str = "true"
    install: str = "true"
    executable: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Inputs:
        defaults = cls()
        return cls(**{
            name: env.get(f"MLOPS_CI_{name.upper()}", getattr(defaults, name))
            for name in cls.__dataclass_fields__
        })


def flag(value: str, name: str, *, allow_empty: bool = False) -> bool | None:
    """A boolean input: "true" or "false" (any case); None for "" when *allow_empty*."""
    text = value.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    if allow_empty and not text:
        return None
    raise InputError(
        f"The action's input `{name}` is {value!r}; it takes \"true\" or \"false\""
        + (", or nothing for mlops.yaml's choice." if allow_empty else ".")
    )


def command_line(inputs: Inputs) -> list[str]:
    """The mlops-ci arguments the inputs ask for: the command, its options, then `args`."""
    command = inputs.command.strip() or "run"
    if not _COMMAND.fullmatch(command):
        raise InputError(
            f"The action's input `command` is {inputs.command!r}, not a command name: give one "
            "such as run, comment or diff, and put options in the input `args`."
        )
    argv = [command]
    base = inputs.base.strip()
    repro = flag(inputs.repro, "repro")
    pull = flag(inputs.pull, "pull", allow_empty=True)
    timeout = inputs.timeout.strip()
    if command == "run":
        argv += ["--base", base] if base else []
        argv += [] if repro else ["--no-repro"]
        argv += [] if pull is None else ["--pull" if pull else "--no-pull"]
        argv += ["--timeout", timeout] if timeout else []
    else:
        if base and command == "diff":
            argv += ["--base", base]
        given = [name for name, value in (
            ("base", base and command != "diff"), ("repro", not repro),
            ("pull", pull is not None), ("timeout", timeout)) if value]
        if given:
            raise InputError(
                f"The action's input `{given[0]}` is for the command `run`, and this step runs "
                f"`{command}`: remove the input, or pass the command's own options in `args`."
            )
    try:
        argv += shlex.split(inputs.args)
    except ValueError as exc:
        raise InputError(
            f"The action's input `args` cannot be split into arguments ({exc}): close the "
            "quotation, or escape the character with a backslash."
        ) from None
    return argv


def executable(inputs: Inputs, env: Mapping[str, str]) -> str:
    """The mlops-ci to start: the install step's, else (install: "false") the one on PATH."""
    install = flag(inputs.install, "install")
    if inputs.executable:
        return inputs.executable
    found = shutil.which("mlops-ci", path=env.get("PATH"))
    if found is None:
        raise InputError(
            "mlops-ci is not on PATH"
            + (": the install step did not run. " if install else ". ")
            + "Set the action's input install: \"true\", or install mlops-ci in an earlier step."
        )
    return found


def child_env(inputs: Inputs, env: Mapping[str, str]) -> dict[str, str]:
    """The environment of mlops-ci: the step's, with the config file named if one was given."""
    child = dict(env)
    if inputs.config.strip():
        child["MLOPS_CI_CONFIG"] = inputs.config.strip()
    return child


def shown(argv: list[str]) -> list[str]:
    """*argv* for the log: a token given in `args` (`--github-token X`) is not shown."""
    hidden = []
    for i, arg in enumerate(argv):
        if i and argv[i - 1] == "--github-token":
            arg = "***"
        elif arg.startswith("--github-token="):
            arg = "--github-token=***"
        hidden.append(arg)
    return hidden


def escape(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def main(env: Mapping[str, str] = os.environ) -> int:
    inputs = Inputs.from_env(env)
    try:
        fail_on_gate = flag(inputs.fail_on_gate, "fail-on-gate")
        argv = command_line(inputs)
        program = executable(inputs, env)
    except InputError as exc:
        print(f"::error title=mlops-ci action input::{escape(str(exc))}", flush=True)
        return EXIT_USAGE
    # shown for the log; quoted so that no argument can start a line (or a workflow command)
    print(f"mlops-ci: running mlops-ci {escape(shlex.join(shown(argv)))}", flush=True)
    code = subprocess.run([program, *argv], env=child_env(inputs, env), check=False).returncode
    if code == EXIT_GATE_FAILED and not fail_on_gate:
        # mlops-ci exits 3 on a bug, but an older release (the input `version`) or a stage's
        # interpreter dying could still give 1: only a run that also reported a failed gate
        # (verdict=fail, which the stages cannot write: proc.stage_env) is forgiven.
        if last_output(env.get("GITHUB_OUTPUT", ""), "verdict") != "fail":
            return code
        # the newline ends whatever partial line the command left (a colour reset at exit),
        # so that the notice starts a line, as a workflow command must
        print("\n::notice title=mlops-ci::A gate failed (verdict: fail); the step stays green "
              "because the input fail-on-gate is \"false\".", flush=True)
        return 0
    return code


def last_output(path: str, name: str) -> str | None:
    """The last value the step wrote for output *name* to $GITHUB_OUTPUT, in either form
    (`name=value` or `name<<delimiter` ... `delimiter`); None when it wrote none."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines() if path else []
    except OSError:
        return None
    value = None
    i = 0
    while i < len(lines):
        key, equals, rest = lines[i].partition("=")
        block_key, heredoc, delimiter = lines[i].partition("<<")
        if heredoc and "=" not in block_key:
            end = lines.index(delimiter, i + 1) if delimiter in lines[i + 1:] else len(lines)
            if block_key == name:
                value = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        if equals and key == name:
            value = rest
        i += 1
    return value


if __name__ == "__main__":
    sys.exit(main())
