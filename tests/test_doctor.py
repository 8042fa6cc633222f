"""`mlops-ci doctor` (issue 8, section 7): each finding from a repository shaped to produce it.

Real git and real dvc in temporary repositories, a local-directory DVC remote, and the local
GitHub API for the token. Every test runs the real entry point in a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import cli, dvc, git, new_dvc_repo
from github_fake import BOT_TOKEN, FORK_TOKEN, USER_TOKEN, FakeGitHub
from github_fake.state import OWNER, REPO, Principal

PIPELINE = f"""\
stages:
  copy:
    cmd: {sys.executable} -c "import shutil; shutil.copy('data.txt', 'out.txt')"
    deps: [data.txt]
    outs: [out.txt]
"""

WORKFLOW = """\
name: mlops
on: pull_request
{permissions}jobs:
  mlops:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: {uses}
"""
PERMISSIONS = "permissions:\n  contents: read\n  pull-requests: write\n  statuses: write\n"


def doctor(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """The exit code and the --json document of `mlops-ci doctor` in *root*."""
    result = cli("doctor", "--json", *args, cwd=root, env=env)
    assert result.code in (0, 1), result.stdout + result.stderr
    return result.code, json.loads(result.stdout)


def found(document: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in document["findings"] if f["check"] == check]


def one(document: dict[str, Any], check: str) -> dict[str, Any]:
    (finding,) = found(document, check)
    return finding


def data_project(root: Path) -> Path:
    """A DVC project whose one stage reads data.txt, a file DVC tracks; all committed."""
    new_dvc_repo(root)
    (root / "data.txt").write_text("hello\n")
    dvc("add", "-q", "data.txt", cwd=root)
    (root / "dvc.yaml").write_text(PIPELINE)
    dvc("repro", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "data", cwd=root)
    return root


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return data_project(tmp_path_factory.mktemp("template") / "repo")


@pytest.fixture
def root(template: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`data_project`'s repository."""
    copy = tmp_path / "repo"
    shutil.copytree(template, copy, symlinks=True)
    return copy


def forget_data(root: Path) -> None:
    """What a fresh clone lacks: the tracked file in the workspace, and DVC's cache."""
    (root / "data.txt").unlink()
    shutil.rmtree(root / ".dvc" / "cache")


def add_remote(root: Path, url: str) -> None:
    dvc("remote", "add", "-d", "storage", url, cwd=root)
    git("commit", "-qam", "remote", cwd=root)


# --- the healthy repository ---------------------------------------------------------------------


def test_a_scaffolded_project_is_ready_with_warnings_for_what_it_lacks(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert cli("init", str(root), cwd=tmp_path).code == 0
    result = cli("doctor", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    assert "Ready for mlops-ci (0 blockers, 1 warning)." in result.stdout
    assert "✗" not in result.stdout
    assert "✓ mlops.yaml: valid, 4 gates" in result.stdout
    # the workflows init wrote are found; no DVC remote yet: warned, with the fix, not blocking
    assert "✓ .github/workflows/mlops-ci.yml: runs mlops-ci" in result.stdout
    assert "! remote: No default DVC remote" in result.stdout


def test_a_project_without_workflows_is_warned_with_the_fix(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert cli("init", "--no-workflows", str(root), cwd=tmp_path).code == 0
    result = cli("doctor", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    assert "Ready for mlops-ci (0 blockers, 2 warnings)." in result.stdout
    assert "! workflows: No workflow in .github/workflows/" in result.stdout
    assert "fix: `mlops-ci init` writes the workflows" in result.stdout


def test_the_reproduced_project_with_remote_and_workflow_has_no_warning(
    project: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    add_remote(project, str(remote))
    dvc("push", "-q", cwd=project)
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "mlops.yml").write_text(
        WORKFLOW.format(permissions=PERMISSIONS, uses="mlops-ci/mlops-ci@v1")
    )
    code, document = doctor(project)
    assert code == 0
    assert document["ready"] is True
    assert document["warnings"] == 0, document["findings"]
    assert one(document, "remote")["level"] == "ok"
    assert "on the DVC remote 'storage'" in one(document, "data")["message"]
    assert one(document, ".github/workflows/mlops.yml")["level"] == "ok"


# --- git ----------------------------------------------------------------------------------------


def test_outside_a_repository_is_a_blocker(tmp_path: Path) -> None:
    code, document = doctor(tmp_path)
    assert code == 1
    finding = one(document, "repository")
    assert finding["level"] == "blocker"
    assert "not inside a git repository" in finding["message"]
    assert len(document["findings"]) == 1


def history(template: Path, tmp_path: Path) -> Path:
    """The data project on main plus two commits, and a branch `feature` two commits past it."""
    origin = tmp_path / "origin"
    shutil.copytree(template, origin, symlinks=True)
    for branch in ("main", "feature"):
        if branch == "feature":
            git("checkout", "-qb", "feature", cwd=origin)
        for n in range(2):
            (origin / f"{branch}.txt").write_text(f"{branch} {n}\n")
            git("add", f"{branch}.txt", cwd=origin)
            git("commit", "-qm", f"{branch} {n}", cwd=origin)
    return origin


def test_a_shallow_clone_that_misses_the_merge_base_is_a_blocker_with_the_fix(
    template: Path, tmp_path: Path
) -> None:
    origin = history(template, tmp_path)
    clone = tmp_path / "clone"
    git("clone", "-q", "--depth=1", "--no-single-branch", "--branch", "feature",
        origin.as_uri(), str(clone), cwd=tmp_path)
    code, document = doctor(clone, env={"GITHUB_BASE_REF": "main"})
    assert code == 1
    base = one(document, "base")
    assert base["level"] == "blocker"
    assert "share no commit" in base["message"]
    assert "fetch-depth: 0" in base["fix"]
    assert "deepens a shallow checkout" in base["fix"]

    # on Actions `run` would fetch the base: a warning, and the doctor itself fetched nothing
    shallow_file = (clone / ".git" / "shallow").read_text()
    _, document = doctor(clone, env={"GITHUB_BASE_REF": "main", "GITHUB_ACTIONS": "true"})
    base = one(document, "base")
    assert base["level"] == "warning"
    assert "fetches it from origin on Actions" in base["message"]
    assert (clone / ".git" / "shallow").read_text() == shallow_file

    # the whole history: the same clone, deepened, reaches the merge-base
    git("fetch", "-q", "--unshallow", cwd=clone)
    _, document = doctor(clone, env={"GITHUB_BASE_REF": "main"})
    base = one(document, "base")
    assert base["level"] == "ok", base
    assert base["message"].startswith("merge-base with origin/main ($GITHUB_BASE_REF)")


def test_a_base_that_is_not_there_is_a_blocker_quoting_why(root: Path) -> None:
    code, document = doctor(root, "--base", "release-1")
    assert code == 1
    base = one(document, "base")
    assert base["level"] == "blocker"
    assert "'release-1' or 'origin/release-1' not found" in base["message"]


def test_no_main_branch_is_a_warning_that_names_base(root: Path) -> None:
    git("branch", "-qm", "main", "trunk", cwd=root)
    code, document = doctor(root)
    assert code == 0
    base = one(document, "base")
    assert base["level"] == "warning"
    assert "--base BRANCH" in base["fix"]


# --- DVC ----------------------------------------------------------------------------------------


def test_a_git_repository_without_dvc_is_a_blocker(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    code, document = doctor(root)
    assert code == 1
    assert one(document, "project")["level"] == "blocker"
    assert "dvc init" in one(document, "project")["fix"]
    assert one(document, "mlops.yaml")["level"] == "info"  # one blocker, not two
    assert document["blockers"] == 1


def test_an_unreadable_dvc_yaml_is_a_blocker_quoting_the_reader(root: Path) -> None:
    (root / "dvc.yaml").write_text("stages: [copy]\n")
    code, document = doctor(root)
    assert code == 1
    finding = one(document, "dvc.yaml")
    assert finding["level"] == "blocker"
    assert finding["file"] == "dvc.yaml"
    assert "stages" in finding["message"] and "line 1" in finding["message"]


def test_a_missing_dvc_yaml_is_a_blocker(tmp_path: Path) -> None:
    root = new_dvc_repo(tmp_path / "repo")
    git("commit", "-qm", "dvc", cwd=root)
    code, document = doctor(root)
    assert code == 1
    assert "No dvc.yaml" in one(document, "dvc.yaml")["message"]


def test_a_local_remote_whose_directory_is_gone_is_a_blocker(root: Path, tmp_path: Path) -> None:
    add_remote(root, str(tmp_path / "nowhere"))
    code, document = doctor(root)
    assert code == 1
    remote = one(document, "remote")
    assert remote["level"] == "blocker"
    assert "does not exist" in remote["message"]
    assert remote["key"] == "remote.storage.url"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_local_remote_that_cannot_be_read_is_a_blocker(root: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    add_remote(root, str(remote))
    remote.chmod(0)
    try:
        if os.access(remote, os.R_OK):
            pytest.skip("this user reads every directory (root)")
        code, document = doctor(root)
    finally:
        remote.chmod(0o755)
    assert code == 1
    assert "can read" in one(document, "remote")["message"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_http_remote_is_a_blocker_not_a_traceback(root: Path) -> None:
    add_remote(root, f"http://user:secret@127.0.0.1:{closed_port()}/dvc")
    result = cli("doctor", cwd=root)
    assert result.code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot be reached" in result.stdout and "refused" in result.stdout
    assert "secret" not in result.stdout  # the URL is shown without its credentials
    # a remote that cannot be asked is not said to lack the data, nor to be missing
    assert "no DVC remote" not in result.stdout and "not on the DVC remote" not in result.stdout


def test_no_default_remote_among_several_names_one_to_make_default(
    root: Path, tmp_path: Path
) -> None:
    dvc("remote", "add", "backup", str(tmp_path / "b"), cwd=root)
    code, document = doctor(root)
    assert code == 0, document
    remote = one(document, "remote")
    assert remote["level"] == "warning"
    assert remote["fix"].startswith("`dvc remote default backup`")


def test_data_nowhere_to_be_had_is_a_blocker(root: Path) -> None:
    forget_data(root)
    code, document = doctor(root)
    assert code == 1
    data = [f for f in found(document, "data") if f["level"] == "blocker"]
    assert len(data) == 1
    assert "'data.txt' is tracked by DVC but neither in the workspace" in data[0]["message"]
    assert "the pipeline needs it" in data[0]["message"]
    assert "dvc remote add -d" in data[0]["fix"]


def test_data_on_the_remote_is_pullable_a_warning(root: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    add_remote(root, str(remote))
    dvc("push", "-q", cwd=root)
    forget_data(root)
    code, document = doctor(root)
    assert code == 0, document
    (pullable,) = [f for f in found(document, "data") if "'data.txt'" in f["message"]]
    assert pullable["level"] == "warning"
    assert "on the DVC remote 'storage'" in pullable["message"]
    assert "dvc pull" in pullable["fix"]


def test_data_not_pushed_is_a_warning_that_a_fresh_clone_lacks_it(
    root: Path, tmp_path: Path
) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    add_remote(root, str(remote))
    code, document = doctor(root)
    assert code == 0
    (unpushed,) = found(document, "data")
    assert unpushed["level"] == "warning"
    assert "'data.txt': here, but not on the DVC remote 'storage'" in unpushed["message"]
    assert unpushed["fix"] == "`dvc push`."


# --- mlops.yaml ---------------------------------------------------------------------------------


def test_an_invalid_mlops_yaml_is_a_blocker_quoting_the_config_error(root: Path) -> None:
    (root / "mlops.yaml").write_text("model: {name: m, path: out.txt}\ngatez: []\n")
    code, document = doctor(root)
    assert code == 1
    finding = one(document, "mlops.yaml")
    assert finding["level"] == "blocker"
    assert finding["file"] == "mlops.yaml"
    assert "gatez" in finding["message"] and "gates" in finding["message"]


def test_no_mlops_yaml_is_said_but_fine(root: Path) -> None:
    code, document = doctor(root)
    assert code == 0, document
    finding = one(document, "mlops.yaml")
    assert finding["level"] == "info"
    assert "the defaults apply" in finding["message"]


# --- workflows ----------------------------------------------------------------------------------


def write_workflow(root: Path, text: str, name: str = "mlops.yml") -> str:
    folder = root / ".github" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return f".github/workflows/{name}"


def test_a_workflow_that_is_not_yaml_is_a_blocker(root: Path) -> None:
    rel = write_workflow(root, "on: [pull_request\njobs: {}\n")
    code, document = doctor(root)
    assert code == 1
    finding = one(document, rel)
    assert finding["level"] == "blocker" and finding["file"] == rel


def test_a_workflow_linked_out_of_the_repository_is_never_read_or_quoted(
    root: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("ghp_OUTSIDE_SECRET: 1\nghp_OUTSIDE_SECRET: 2\n")  # a duplicate key
    folder = root / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "a.yml").symlink_to(outside)
    code, document = doctor(root)
    assert code == 1
    finding = one(document, ".github/workflows/a.yml")
    assert finding["level"] == "blocker"
    assert "outside" in finding["message"]
    assert "OUTSIDE_SECRET" not in json.dumps(document)

    # the folder itself linked elsewhere
    (folder / "a.yml").unlink()
    folder.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.yml").symlink_to(outside)
    folder.symlink_to(elsewhere, target_is_directory=True)
    code, document = doctor(root)
    assert code == 1
    assert one(document, "workflows")["level"] == "blocker"
    assert "OUTSIDE_SECRET" not in json.dumps(document)


def test_workflows_none_of_which_runs_mlops_ci_are_a_warning(root: Path) -> None:
    write_workflow(root, WORKFLOW.format(permissions=PERMISSIONS, uses="actions/setup-python@v5"),
                   "ci.yaml")
    code, document = doctor(root)
    assert code == 0
    finding = one(document, "workflows")
    assert finding["level"] == "warning"
    assert "None of the 1 workflow(s)" in finding["message"]
    assert "mlops-ci init" in finding["fix"]


def test_a_workflow_running_mlops_ci_without_permissions_is_a_warning(root: Path) -> None:
    rel = write_workflow(root, WORKFLOW.format(permissions="", uses="mlops-ci/mlops-ci@v1.2.0"))
    code, document = doctor(root)
    assert code == 0, document
    finding = one(document, rel)
    assert finding["level"] == "warning"
    assert finding["key"] == "permissions"
    assert "pull-requests: write" in finding["fix"]


def test_a_local_action_named_mlops_ci_counts_and_job_permissions_suffice(root: Path) -> None:
    (root / "action.yml").write_text("name: mlops-ci\nruns: {using: composite, steps: []}\n")
    text = WORKFLOW.format(permissions="", uses="./").replace(
        "    runs-on:", "    permissions: {pull-requests: write}\n    runs-on:"
    )
    rel = write_workflow(root, text)
    code, document = doctor(root)
    assert code == 0, document
    finding = one(document, rel)
    assert finding["level"] == "ok", finding
    assert "each job with `permissions:`" in finding["message"]


def test_actionlint_on_path_reports_its_findings(root: Path, tmp_path: Path) -> None:
    """A stand-in for actionlint that prints a finding the way `actionlint -oneline` does."""
    workflow = WORKFLOW.format(permissions=PERMISSIONS, uses="mlops-ci/mlops-ci@v1")
    rel = write_workflow(root, workflow)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    lint = bindir / "actionlint"
    lint.write_text(
        "#!/bin/sh\n"
        f'echo "{rel}:7:9: label \\"ubuntu-latst\\" is unknown [runner-label]"\n'
        "exit 1\n"
    )
    lint.chmod(0o755)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}"}
    code, document = doctor(root, env=env)
    assert code == 0, document
    (finding,) = found(document, "actionlint")
    assert finding["level"] == "warning"
    assert finding["file"] == rel
    assert "[runner-label]" in finding["message"]


# --- the token ----------------------------------------------------------------------------------


def token_env(api: FakeGitHub, token: str) -> dict[str, str]:
    return {"GITHUB_TOKEN": token, "GITHUB_API_URL": api.url,
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}"}


@pytest.fixture(scope="module")
def token_repo(template: Path) -> Path:
    return template  # the token checks read the repository, never change it


def levels(document: dict[str, Any]) -> dict[str, str]:
    return {f["check"]: f["level"] for f in document["findings"] if f["group"] == "token"}


def test_a_classic_token_with_the_repo_scope_may_do_everything(
    github_api: FakeGitHub, token_repo: Path
) -> None:
    result = cli("doctor", "--json", cwd=token_repo, env=token_env(github_api, USER_TOKEN))
    document = json.loads(result.stdout)
    assert levels(document) == {"token": "ok", "pull-request comment": "ok",
                                "commit status": "ok", "release": "ok"}
    assert USER_TOKEN not in result.stdout + result.stderr
    (call,) = github_api.calls("GET /repos/{owner}/{repo}")
    assert call.headers["authorization"] == f"Bearer {USER_TOKEN}"


def test_a_classic_token_without_scopes_is_warned_per_use(
    github_api: FakeGitHub, token_repo: Path
) -> None:
    token = "ghp_fakeNoScopes00000000000000000000000"
    github_api.state.tokens[token] = Principal(github_api.state.users["octocat"], scopes=())
    result = cli("doctor", cwd=token_repo, env=token_env(github_api, token))
    assert result.code == 0, result.stdout  # the run itself works; publishing would not
    assert "! commit status: the token's scopes (none) do not allow it" in result.stdout
    assert "`repo` or `repo:status`" in result.stdout
    assert token not in result.stdout + result.stderr


def test_a_read_only_token_as_a_fork_gets_is_warned(
    github_api: FakeGitHub, token_repo: Path
) -> None:
    code, document = doctor(token_repo, env=token_env(github_api, FORK_TOKEN))
    assert code == 0
    assert levels(document) == {"token": "ok", "pull-request comment": "warning",
                                "commit status": "warning", "release": "warning"}
    assert "fork-safe pair" in one(document, "release")["fix"]


def test_the_workflow_token_says_which_permissions_the_job_needs(
    ghes_api: FakeGitHub, token_repo: Path
) -> None:
    code, document = doctor(token_repo, env=token_env(ghes_api, BOT_TOKEN))
    assert code == 0, document
    assert levels(document)["commit status"] == "info"
    assert "`statuses: write` in the job's `permissions:`" in one(document, "commit status")["fix"]
    assert ghes_api.calls("GET /repos/{owner}/{repo}")[0].path.startswith("/api/v3/")


def test_a_token_github_refuses_is_a_blocker_and_is_never_printed(
    github_api: FakeGitHub, token_repo: Path
) -> None:
    token = "ghp_fakeRevoked0000000000000000000000000"
    result = cli("doctor", cwd=token_repo, env=token_env(github_api, token))
    assert result.code == 1
    assert "✗ token: GitHub" in result.stdout and "refused the classic personal access token" \
        in result.stdout
    assert token not in result.stdout + result.stderr


def test_the_repository_comes_from_origin_when_not_on_actions(
    root: Path, github_api: FakeGitHub, tmp_path: Path
) -> None:
    git("remote", "add", "origin", f"git@github.com:{OWNER}/{REPO}.git", cwd=root)
    env = token_env(github_api, USER_TOKEN)
    del env["GITHUB_REPOSITORY"]
    code, document = doctor(root, env=env)
    assert code == 0, document
    assert one(document, "token")["message"].endswith(f"can see {OWNER}/{REPO}")


def test_github_unreachable_is_a_warning(token_repo: Path) -> None:
    env = {"GITHUB_TOKEN": USER_TOKEN, "GITHUB_API_URL": f"http://127.0.0.1:{closed_port()}",
           "GITHUB_REPOSITORY": f"{OWNER}/{REPO}"}
    code, document = doctor(token_repo, env=env)
    assert code == 0, document
    assert one(document, "token")["level"] == "warning"


# --- output -------------------------------------------------------------------------------------


def test_on_actions_the_findings_go_to_the_job_summary_as_inert_text(
    root: Path, tmp_path: Path, github_api: FakeGitHub
) -> None:
    write_workflow(root, "on: [\n", "@octocat <b>.yml")
    summary = tmp_path / "summary.md"
    env = {**token_env(github_api, BOT_TOKEN), "GITHUB_ACTIONS": "true",
           "GITHUB_STEP_SUMMARY": str(summary)}
    result = cli("doctor", cwd=root, env=env)
    assert result.code == 1
    assert f"::add-mask::{BOT_TOKEN}" in result.stdout  # the runner hides it from the log
    text = summary.read_text()
    assert text.startswith("### mlops-ci doctor\n")
    assert "❌" in text
    assert "<b>" not in text and "@octocat" not in text  # escaped, no mention

    as_json = cli("doctor", "--json", cwd=root, env=env)
    assert json.loads(as_json.stdout)["ready"] is False  # stdout stays one JSON document
    assert f"::add-mask::{BOT_TOKEN}" in as_json.stderr


def test_a_bad_option_is_a_usage_error(tmp_path: Path) -> None:
    assert cli("doctor", "--bogus", cwd=tmp_path).code == 2
    bad = cli("doctor", cwd=tmp_path, env={"GITHUB_TOKEN": "ghp_two words"})
    assert bad.code == 2
    assert "two" not in bad.stderr


def test_the_terminal_lines_defuse_what_the_repository_wrote() -> None:
    from mlops_ci.doctor import Diagnosis, Finding, render_text

    hostile = "\x1b[2J::error::owned\nsecond line\x07"
    text = render_text(
        Diagnosis(Path("/r"), (Finding("workflows", hostile, "blocker", hostile, fix=hostile),)),
        color=False,
    )
    assert "\x1b" not in text and "\x07" not in text
    assert not any(line.lstrip().startswith("::") for line in text.splitlines())
    assert "second line" in text and "second line\n" not in text  # one line per finding
    assert text.rstrip().endswith("Not ready: 1 blocker, 0 warnings. Fix the blockers and run "
                                  "`mlops-ci doctor` again.")
