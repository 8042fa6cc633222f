"""Subprocesses, their time limits, their environment and what they print; the entry point.

Real git and real dvc in temporary repositories. Each mlops-ci run here starts in a session of
its own and has a generous bound, so that a test of a hang fails instead of hanging, and
cleans up whatever it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Result, clean_env, git, new_dvc_repo, tree_state
from mlops_ci.__main__ import print_traceback
from mlops_ci.errors import CommandTimeoutError
from mlops_ci.proc import run, stage_env
from mlops_ci.repro import ACTIONS_DEFAULT_TIMEOUT, repro_timeout

BOUND = 120  # seconds: far beyond what any run here needs, short of a hung test session

# Written whole (renamed into place), so that a test never reads a half-written pgid file.
STAGE_PGID = ("import os; open('pgid.tmp', 'w').write(str(os.getpgrp())); "
              "os.replace('pgid.tmp', 'pgid')")
WRITE_METRICS = "import json; json.dump({'accuracy': 0.9}, open('metrics.json', 'w'))"


# --- helpers ---------------------------------------------------------------------------------


def live_members(pgid: int) -> list[str]:
    """The processes of group *pgid* that still run (zombies are dead: only not yet reaped)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        state, _ppid, group = text.rpartition(")")[2].split()[:3]
        if int(group) == pgid and state not in ("Z", "X"):
            found.append(text)
    return found


def start_cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
              merge: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlops_ci", *args],
        cwd=cwd,
        env={**clean_env(), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that a failed test can stop all it started
    )


def finish(proc: subprocess.Popen[str]) -> Result:
    """Wait for *proc* within BOUND; a run still going then is a hang: stop it and fail."""
    try:
        stdout, stderr = proc.communicate(timeout=BOUND)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"mlops-ci was still running after {BOUND} s")
    return Result(proc.returncode, stdout, stderr or "")


def bounded_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    return finish(start_cli(*args, cwd=cwd, env=env))


def stages(root: Path, body: str) -> None:
    """Replace the pipeline with *body* (the indented stages) and commit it."""
    (root / "dvc.yaml").write_text(
        "stages:\n" + textwrap.indent(textwrap.dedent(body), "  ")
        + "artifacts:\n  tiny:\n    path: model.txt\n    type: model\n"  # mlops.yaml's model
    )
    git("add", "--all", cwd=root)
    git("commit", "--quiet", "-m", "Change the pipeline", cwd=root)


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[Path]:
    """A git + DVC repository with a one-line mlops.yaml; each test writes its stages."""
    root = new_dvc_repo(tmp_path / "tiny")
    (root / "mlops.yaml").write_text(
        "model:\n  name: tiny\n  path: model.txt\nmetrics:\n  files: [metrics.json]\n"
    )
    (root / "model.txt").write_text("a model\n")
    git("add", "--all", cwd=root)
    git("commit", "--quiet", "-m", "A tiny project", cwd=root)
    yield root
    pgid_file = root / "pgid"
    if pgid_file.exists():  # a failed test may have left its stage running
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pgid_file.read_text()), signal.SIGKILL)


def python_stage(name: str, code: str) -> str:
    # `python` is mlops-ci's interpreter: proc puts its bin directory first on PATH
    return f"{name}:\n  cmd: {json.dumps(f'python -c {json.dumps(code)}')}\n"


def stage_group(root: Path) -> int:
    pgid = int((root / "pgid").read_text())
    assert pgid != os.getpgrp(), "the stage ran in mlops-ci's own process group"
    return pgid


# --- bounded time ----------------------------------------------------------------------------


# A limit must outlast the start-up of the command it bounds (dvc takes about 2 s, python a
# fraction of one), which a loaded machine can stretch past any fixed figure. A run that its
# limit stopped before the command under test started proves nothing about that command, so
# it is tried again with twice the limit: the assertions are about what happened to the hung
# process, never about how long anything took.
STAGE_LIMITS = (5, 10, 20, 40)  # seconds, for a `dvc repro` whose stage hangs
COMMAND_LIMITS = (1, 2, 4, 8, 16)  # seconds, for a python that hangs


def until_the_stage_started(tiny: Path, attempt: Callable[[int], Result]) -> tuple[Result, int]:
    """Run *attempt* with each of STAGE_LIMITS until its stage started (wrote its pgid)."""
    for limit in STAGE_LIMITS:
        result = attempt(limit)
        assert result.code == 2, result.stderr
        assert "`dvc repro` was stopped" in result.stderr, result.stderr
        if (tiny / "pgid").exists():
            return result, limit
    pytest.fail(f"dvc never started the stage within {STAGE_LIMITS[-1]} s")


def test_a_hanging_stage_is_stopped_at_the_timeout_and_named(tiny: Path) -> None:
    stages(tiny, python_stage("nap", f"{STAGE_PGID}; import time; time.sleep(1000)"))
    result, limit = until_the_stage_started(
        tiny, lambda limit: bounded_cli("run", "--timeout", f"{limit}s", cwd=tiny))
    message = result.stderr[result.stderr.index("mlops-ci: error: "):]
    assert "stopped in stage 'nap'" in message and f"{limit} s limit (--timeout)" in message
    assert "pipeline.timeout" in message and "Traceback" not in result.stderr
    assert live_members(stage_group(tiny)) == []
    assert not (tiny / ".mlops").exists()


def test_pipeline_timeout_in_mlops_yaml_sets_the_limit(tiny: Path) -> None:
    config = (tiny / "mlops.yaml").read_text()
    stages(tiny, python_stage("warm", WRITE_METRICS)
           + python_stage("nap", f"{STAGE_PGID}; import time; time.sleep(1000)"))

    def attempt(limit: int) -> Result:
        (tiny / "mlops.yaml").write_text(config + f"pipeline:\n  timeout: {limit}s\n")
        git("commit", "--quiet", "-m", "Set the limit", "mlops.yaml", cwd=tiny)
        return bounded_cli("run", cwd=tiny)

    result, limit = until_the_stage_started(tiny, attempt)
    assert f"{limit} s limit (pipeline.timeout in mlops.yaml)" in result.stderr
    assert "stage 'nap'" in result.stderr
    assert live_members(stage_group(tiny)) == []


def test_a_process_left_holding_the_output_does_not_hang_the_run(tiny: Path) -> None:
    # the stage ends, its background child keeps the output pipe open
    leave_child = (
        f"{WRITE_METRICS}; {STAGE_PGID}; import subprocess; "
        "subprocess.Popen(['sleep', '1000']); print('done')"
    )
    stages(tiny, python_stage("leaky", leave_child))
    result = bounded_cli("run", cwd=tiny)
    assert result.code == 0, result.stderr
    assert "still held its output open; mlops-ci stopped it" in result.stderr
    assert live_members(stage_group(tiny)) == []
    assert (tiny / ".mlops" / "report.json").is_file()


def until_the_command_started(
    tmp_path: Path, script: str, *, started: Callable[[CommandTimeoutError], bool]
) -> tuple[CommandTimeoutError, int]:
    """run() *script* with each of COMMAND_LIMITS until it stopped the script once *started*."""
    for limit in COMMAND_LIMITS:
        with pytest.raises(CommandTimeoutError) as caught:
            run([sys.executable, "-c", script], cwd=tmp_path, timeout=limit)
        if (tmp_path / "pgid").exists() and started(caught.value):
            return caught.value, limit
    pytest.fail(f"python never started the script within {COMMAND_LIMITS[-1]} s")


def test_the_timeout_covers_a_command_that_closed_its_output(tmp_path: Path) -> None:
    script = f"{STAGE_PGID}; import os, time; os.close(1); os.close(2); time.sleep(1000)"
    error, limit = until_the_command_started(tmp_path, script, started=lambda error: True)
    assert f"{limit} s limit" in str(error)
    assert live_members(int((tmp_path / "pgid").read_text())) == []


def test_a_stage_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    script = (f"{STAGE_PGID}; import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
              " print('ready', flush=True); time.sleep(1000)")
    # "ready": SIGTERM was ignored by then, so only SIGKILL could have stopped it
    error, _ = until_the_command_started(tmp_path, script,
                                         started=lambda error: error.output == "ready\n")
    assert error.output == "ready\n"
    assert live_members(int((tmp_path / "pgid").read_text())) == []


@pytest.mark.parametrize(
    ("option", "configured", "env", "expected"),
    [
        (None, None, {}, None),
        (None, None, {"GITHUB_ACTIONS": "true"},
         (ACTIONS_DEFAULT_TIMEOUT, "the default on GitHub Actions")),
        (None, 60.0, {"GITHUB_ACTIONS": "true"}, (60.0, "pipeline.timeout in mlops.yaml")),
        (5.0, 60.0, {"GITHUB_ACTIONS": "true"}, (5.0, "--timeout")),
    ],
)
def test_which_limit_applies(option, configured, env, expected) -> None:
    limit = repro_timeout(option, configured, env)
    assert (None if limit is None else (limit.seconds, limit.source)) == expected


@pytest.mark.parametrize(
    ("config", "args", "says"),
    [
        ("pipeline:\n  timeout: 30\n", (), "line 7: pipeline.timeout is 30, a number without"),
        ("pipeline:\n  timeout: 0s\n", (), "pipeline.timeout is '0s', not a duration"),
        ("pipeline:\n  timeout: soon\n", (), "pipeline.timeout must be a duration"),
        ("", ("--timeout", "30"), "--timeout is '30', not a duration; write a positive number"),
        ("", ("--timeout", "1x"), "--timeout is '1x', not a duration"),
    ],
)
def test_a_bad_timeout_is_one_sentence(tiny: Path, config: str, args: tuple[str, ...],
                                        says: str) -> None:
    with (tiny / "mlops.yaml").open("a") as file:
        file.write(config)
    stages(tiny, python_stage("never", "raise SystemExit('the stage ran')"))
    before = tree_state(tiny)
    result = bounded_cli("run", *args, cwd=tiny)
    assert result.code == 2, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr
    assert "the stage ran" not in result.stderr
    assert tree_state(tiny) == before


# --- interrupts ------------------------------------------------------------------------------


@pytest.mark.parametrize(("signum", "line"), [(signal.SIGINT, "mlops-ci: interrupted"),
                                              (signal.SIGTERM, "mlops-ci: terminated")])
def test_a_signal_stops_the_stage_and_says_so(tiny: Path, signum: int, line: str) -> None:
    stages(tiny, python_stage("nap", f"{STAGE_PGID}; import time; time.sleep(1000)"))
    proc = start_cli("run", cwd=tiny)
    deadline = time.monotonic() + BOUND
    while not (tiny / "pgid").exists():  # the stage is running
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signum)
    result = finish(proc)
    assert result.code == 128 + signum, result.stderr
    assert result.stderr.rstrip().endswith(line)
    assert "Aborted" not in result.stderr and "Traceback" not in result.stderr
    assert live_members(stage_group(tiny)) == []


# --- the stages' environment -----------------------------------------------------------------

TOKEN = "ghs_0123456789abcdefghijklmnopqrstuvwxyzAB"
CREDENTIALS = {
    "GITHUB_TOKEN": TOKEN,
    "GH_TOKEN": TOKEN,
    "INPUT_GITHUB-TOKEN": TOKEN,
    "MY_COPY_OF_IT": f"Bearer {TOKEN}",
    "ACTIONS_RUNTIME_TOKEN": "runtime-0123456789",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-0123456789",
    "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/oidc",
}


def test_the_stages_get_no_github_credentials(tiny: Path) -> None:
    dump = "import json, os; json.dump(dict(os.environ), open('env.json', 'w'))"
    stages(tiny, python_stage("dump", f"{WRITE_METRICS}; {dump}"))
    result = bounded_cli("run", cwd=tiny, env={**CREDENTIALS, "KEEP_ME": "data-remote"})
    assert result.code == 0, result.stderr
    seen = json.loads((tiny / "env.json").read_text())
    assert seen["KEEP_ME"] == "data-remote"  # the rest of the environment is the stage's
    assert not set(CREDENTIALS) & set(seen)
    assert not [name for name, value in seen.items() if TOKEN in value]


def test_stage_env_keeps_what_is_not_a_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    env = stage_env([TOKEN])
    assert not set(CREDENTIALS) & set(env)
    assert env["DVC_NO_ANALYTICS"] == "true" and env["PATH"]


# --- log lines -------------------------------------------------------------------------------


def commands_started(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip().startswith("::") or "##[" in line]


def test_a_failing_stage_cannot_issue_commands_through_the_error_message(tiny: Path) -> None:
    shout = "print('::stop-commands::x'); print('  ::error::fake'); print('##[add-mask]y');"
    stages(tiny, python_stage("loud", f"{shout} raise SystemExit(3)"))
    result = bounded_cli("run", cwd=tiny)
    assert result.code == 2, result.stderr
    assert "stage 'loud'" in result.stderr and "stop-commands" in result.stderr
    assert commands_started(result.stdout + result.stderr) == []


def test_a_dvc_warning_is_printed_once(project: Path) -> None:
    git("checkout", "--quiet", "-b", "broken", cwd=project)
    (project / "dvc.yaml").write_text("stages:\n  x: [\n")
    git("commit", "--quiet", "-am", "Break dvc.yaml", cwd=project)
    git("checkout", "--quiet", "main", cwd=project)
    result = bounded_cli("diff", "--base", "broken", cwd=project)
    assert result.code == 0, result.stderr
    assert result.stderr.count("failed to load params in revision") == 1, result.stderr
    assert result.stderr.startswith("mlops-ci: WARNING: ")


# --- the entry point -------------------------------------------------------------------------


def test_a_bug_exits_3_with_its_traceback_never_1_which_reads_as_a_failed_gate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlops_ci import __main__ as entry
    from mlops_ci import cli as cli_module

    def crash(**_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli_module, "app", crash)
    assert entry.main(["run"]) == 3
    err = capsys.readouterr().err
    assert "RuntimeError: a bug" in err
    assert "internal error: this is a bug in mlops-ci, not a verdict" in err


def test_a_traceback_never_shows_a_secret_even_chained(capsys: pytest.CaptureFixture[str]) -> None:
    secret = "ghp_first-half\nsecond-half-of-it"
    try:
        try:
            raise ValueError(f"Invalid header value {('Bearer ' + secret)!r}")
        except ValueError as inner:
            try:
                raise KeyError(secret) from inner
            except KeyError:
                raise RuntimeError("::stop-commands::x while sending") from None
    except RuntimeError as outer:
        outer.__context__ = KeyError(secret)  # what `from None` hides, a bug could still show
        outer.__suppress_context__ = False
        print_traceback(outer, {secret})
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError" in err and "KeyError" in err
    for piece in ("first-half", "second-half-of-it"):
        assert piece not in err
    assert commands_started(err) == []
