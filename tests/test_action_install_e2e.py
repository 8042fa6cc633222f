"""The action as users get it, end to end with act: it installs mlops-ci itself.

tests/test_action_e2e.py runs the action with `install: "false"` and the test's own Python.
Here the job's Python is the runner's (a fresh virtualenv that has the example's libraries but
not mlops-ci), no uv is on PATH, and the action installs mlops-ci the real way: pip fetches uv
from PyPI into the runner's tool cache, uv builds the action's own source into a wheel and
installs it with its dependencies, from PyPI, into a virtualenv under RUNNER_TEMP.

One pull request, three act runs in a row that share the runner's tool cache (act's, under the
private HOME), as three jobs on one self-hosted runner would:

1. cold (empty tool cache): the head lowers C, a gate fails, `fail-on-gate: "false"` → the job
   is green, `verdict` is fail, one comment;
2. warm: the author pushes a fix (C back to 1.0) → the job passes, the same comment is updated;
3. warm again, with a read-only token and `repro: "false"` → the gates are reported, the
   comment cannot be written: a warning, no crash.

The install times are printed (`pytest -s` shows them), never asserted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_action_e2e import (
    MARKER,
    TESTS,
    ActRun,
    act_command,
    act_environment,
    action_folder,
    find_act,
    make_pull_request,
    pull_request_event,
    run_bounded,
)

from conftest import FirstRun, git
from github_fake import BOT_TOKEN, FORK_TOKEN, FakeGitHub
from github_fake.plugin import fail_on_rejections
from github_fake.state import PR_NUMBER

pytestmark = pytest.mark.slow

WORKFLOW = TESTS / "e2e" / "install.yml"
INSTALLED = re.compile(r"mlops-ci: installed (.+) with (uv|pip) in ([0-9.]+) s")
# A stage that records which Python the pipeline's stages run with.
STAGE = """\
  runner-python:
    cmd: python record_python.py
"""
RECORD_PYTHON = """\
import os
import sys

os.makedirs(os.environ["E2E_KEEP"], exist_ok=True)
with open(os.path.join(os.environ["E2E_KEEP"], "stage-python"), "a") as f:
    f.write(sys.prefix + "\\n")
"""


def runner_python(root: Path) -> Path:
    """The runner's own Python: a new virtualenv that sees this venv's libraries (the stages'
    scikit-learn, pip) through a .pth line, which does not run this venv's editable-install
    hook: `import mlops_ci` fails in it."""
    venv = root / "runner-python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python3"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    Path(site, "test-libraries.pth").write_text(ours + "\n")
    assert not imports(python, "mlops_ci"), "the runner's Python must start without mlops-ci"
    assert imports(python, "sklearn") and imports(python, "pip")
    return venv


def imports(python: Path, module: str) -> bool:
    return subprocess.run(
        [str(python), "-I", "-c", f"import {module}"], capture_output=True, check=False
    ).returncode == 0


@dataclass
class Runs:
    cold: ActRun
    warm: ActRun
    read_only: ActRun
    runner: Path  # the runner's Python (a venv)
    tool_cache: Path


def install_time(run: ActRun) -> tuple[str, float]:
    text = "\n".join(str(e.get("msg", "")) for e in run.log)
    found = INSTALLED.search(text)
    assert found, run.tail()
    return found[2], float(found[3])


@pytest.fixture(scope="module")
def runs(first_run: FirstRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    act = find_act()
    root = tmp_path_factory.mktemp("install-e2e")
    project, base_sha, head_sha = make_pull_request(first_run.template, root, WORKFLOW)
    with (project / "dvc.yaml").open("a") as f:
        f.write(STAGE)
    (project / "record_python.py").write_text(RECORD_PYTHON)
    git("add", "record_python.py", "dvc.yaml", cwd=project)
    git("commit", "--quiet", "-m", "Record the stages' Python", cwd=project)
    head_sha = git("rev-parse", "HEAD", cwd=project)
    action_dir = action_folder(root / "action", whole=True)
    runner = runner_python(root)
    home = root / "home"
    env = act_environment(home)
    ours = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        [str(runner / "bin"), *(d for d in env["PATH"].split(os.pathsep) if d != ours)]
    )

    with FakeGitHub() as api:
        def act_run(name: str, head: str, *, token: str, fail_on_gate: str, repro: str) -> ActRun:
            pull = api.state.repo().issues[PR_NUMBER]
            pull.head_ref, pull.head_sha, pull.base_sha = "lower-c", head, base_sha
            api.state.repo().commits |= {head, base_sha}
            event = root / f"{name}.json"
            event.write_text(json.dumps(pull_request_event(head_sha=head, base_sha=base_sha)))
            kept = root / f"kept-{name}"
            command = act_command(
                act, event=event, action_dir=action_dir, stubs=root / f"stubs-{name}",
                api_url=api.url, kept=kept,
                extra=("--env", f"E2E_FAIL_ON_GATE={fail_on_gate}", "--env", f"E2E_REPRO={repro}"),
            )
            code, stdout, stderr = run_bounded(
                command, cwd=project, env={**env, "GITHUB_TOKEN": token}
            )
            log = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
            run = ActRun(code, log, stdout, stderr, project, kept, api, head, base_sha)
            installer, seconds = install_time(run)
            print(f"\n{name} install through the action: {seconds:.1f} s with {installer}")
            return run

        cold = act_run("cold", head_sha, token=BOT_TOKEN, fail_on_gate="false", repro="true")
        # The author pushes a fix: C back to 1.0, the base's results committed with it.
        git("checkout", "--quiet", base_sha, "--", "params.yaml", "metrics.json", "dvc.lock",
            cwd=project)
        git("commit", "--quiet", "-m", "Put C back to 1.0", cwd=project)
        fixed = git("rev-parse", "HEAD", cwd=project)
        warm = act_run("warm", fixed, token=BOT_TOKEN, fail_on_gate="true", repro="true")
        read_only = act_run(
            "read-only", fixed, token=FORK_TOKEN, fail_on_gate="true", repro="false"
        )
        yield Runs(cold, warm, read_only, runner, home / ".cache" / "act" / "tool_cache")
        fail_on_rejections(api)


def test_a_failed_gate_with_fail_on_gate_false_keeps_the_job_green(runs: Runs) -> None:
    run = runs.cold
    assert run.code == 0, run.tail()
    assert (run.kept / "outcome").read_text() == "success", run.tail()
    outputs = run.outputs()
    assert outputs["verdict"] == "fail", outputs
    assert json.loads(outputs["failed-gates"]) == ["accuracy"]
    # the gate is still annotated, and the step says why it stays green
    errors = run.events(step=["mlops", "run"], command="error")
    assert [e["kvPairs"].get("title") for e in errors] == ["Gate failed: accuracy"], run.tail()
    notices = run.events(step=["mlops", "run"], command="notice")
    assert any("fail-on-gate" in e.get("arg", "") for e in notices), notices or run.tail()


def test_the_cold_install_fetched_uv_from_pypi_into_the_tool_cache(runs: Runs) -> None:
    assert install_time(runs.cold)[0] == "uv"
    kept = runs.tool_cache / "mlops-ci"
    assert list(kept.glob("uv/*/bin/uv")), sorted(p.name for p in kept.iterdir())
    assert list(kept.glob("wheels/*/mlops_ci-*.whl"))
    assert (kept / "uv-cache").is_dir()


def test_only_mlops_ci_is_put_on_path_for_later_steps(runs: Runs) -> None:
    # what the workflow's next step found: mlops-ci alone in its bin directory, under
    # RUNNER_TEMP; python3 is still the runner's
    kept = runs.cold.kept
    on_path = Path((kept / "mlops-ci-on-path").read_text().strip())
    assert on_path.name == "mlops-ci" and on_path.parent.name == "bin", on_path
    assert (kept / "its-bin-dir").read_text().split() == ["mlops-ci"]
    assert Path((kept / "python3-on-path").read_text().strip()) == runs.runner / "bin" / "python3"


def test_the_stages_run_with_the_runners_python_and_nothing_leaks_into_it(runs: Runs) -> None:
    prefixes = (runs.cold.kept / "stage-python").read_text().split()
    assert prefixes and set(prefixes) == {str(runs.runner)}, prefixes
    python = runs.runner / "bin" / "python3"
    assert not imports(python, "mlops_ci")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert sorted(p.name for p in Path(site).iterdir()) == ["test-libraries.pth"]


def test_the_second_run_updates_the_same_comment(runs: Runs) -> None:
    run = runs.warm
    assert run.code == 0, run.tail()
    assert run.outputs()["verdict"] == "pass"
    assert install_time(run)[0] == "uv"
    comments = [c for c in run.api.state.repo().comments(PR_NUMBER) if MARKER in c.body]
    assert len(comments) == 1, [c.body[:80] for c in comments]
    (comment,) = comments
    assert "pass" in comment.body.lower()
    assert run.outputs()["comment-url"].endswith(f"#issuecomment-{comment.id}")
    # one create by the cold run, one update by the warm one (the read-only run's is refused)
    writes = [(r.method, r.status) for r in run.api.requests
              if r.method in ("POST", "PATCH") and "/comments" in r.path]
    assert writes == [("POST", 201), ("PATCH", 200), ("PATCH", 403)], writes


def test_the_passing_run_writes_the_job_summary(runs: Runs) -> None:
    summaries = runs.warm.events(step=["mlops"], command="summary")
    assert len(summaries) == 1, runs.warm.tail()
    assert "accuracy" in summaries[0]["content"]


def test_a_read_only_token_reports_the_gates_without_crashing(runs: Runs) -> None:
    run = runs.read_only
    assert run.code == 0, run.tail()
    outputs = run.outputs()
    assert outputs["verdict"] == "pass" and json.loads(outputs["failed-gates"]) == []
    assert outputs.get("comment-url", "") == ""  # composite outputs are never missing
    warnings = run.events(step=["mlops", "run"], command="warning")
    titles = [e["kvPairs"].get("title") for e in warnings]
    assert titles == ["mlops-ci: no pull request comment"], warnings or run.tail()
    assert "may not write" in warnings[0].get("arg", "")
    assert "Traceback" not in run.stdout + run.stderr
