"""`mlops-ci init` writes the GitHub workflows and the example's requirements.txt.

Real git in temporary directories (and real dvc, which init runs); the workflows' own rules are
checked on the templates by test_example_workflows.py and by the linters of
test_workflow_lint.py, which also lint what init wrote.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from conftest import clean_env, cli, dvc, git, new_dvc_repo
from mlops_ci.scaffold import example_files

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" / "workflows"
WORKFLOWS = ".github/workflows"


def written(root: Path) -> list[str]:
    return sorted(p.name for p in (root / WORKFLOWS).iterdir())


def test_init_writes_the_pull_request_and_release_workflows_and_commits_them(tmp_path: Path):
    root = tmp_path / "demo"
    result = cli("init", str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert written(root) == ["mlops-ci-release.yml", "mlops-ci.yml"]
    for name in written(root):
        # byte for byte the packaged template: the templates are the only source
        assert (root / WORKFLOWS / name).read_bytes() == (TEMPLATES / name).read_bytes()
    tracked = git("ls-files", WORKFLOWS, cwd=root).splitlines()
    assert tracked == [f"{WORKFLOWS}/mlops-ci-release.yml", f"{WORKFLOWS}/mlops-ci.yml"]
    assert git("status", "--porcelain", cwd=root) == ""
    assert "mlops-ci.yml, mlops-ci-release.yml" in result.stdout


def test_fork_safe_writes_the_report_and_comment_pair_instead(tmp_path: Path):
    root = tmp_path / "demo"
    result = cli("init", "--fork-safe", str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    # never both set-ups: each would run the pipeline on every pull request
    assert written(root) == ["mlops-ci-comment.yml", "mlops-ci-release.yml", "mlops-ci-report.yml"]
    for name in written(root):
        assert (root / WORKFLOWS / name).read_bytes() == (TEMPLATES / name).read_bytes()


def test_deploy_adds_the_deploy_workflow_to_either_set_up(tmp_path: Path):
    root = tmp_path / "demo"
    result = cli("init", "--deploy", str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert written(root) == ["mlops-ci-deploy.yml", "mlops-ci-release.yml", "mlops-ci.yml"]
    deploy = root / WORKFLOWS / "mlops-ci-deploy.yml"
    assert deploy.read_bytes() == (TEMPLATES / "mlops-ci-deploy.yml").read_bytes()
    assert f"{WORKFLOWS}/mlops-ci-deploy.yml" in git("ls-files", WORKFLOWS, cwd=root)
    assert "mlops-ci-deploy.yml" in result.stdout
    forked = tmp_path / "forked"
    assert cli("init", "--fork-safe", "--deploy", str(forked), cwd=tmp_path).code == 0
    assert "mlops-ci-deploy.yml" in written(forked) and "mlops-ci.yml" not in written(forked)


def test_deploy_without_workflows_is_a_usage_error(tmp_path: Path):
    result = cli("init", "--deploy", "--no-workflows", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.code == 2
    assert "--deploy" in result.stderr and "--no-workflows" in result.stderr
    assert not (tmp_path / "demo").exists()


def test_no_workflows_writes_none(tmp_path: Path):
    root = tmp_path / "demo"
    result = cli("init", "--no-workflows", str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert not (root / ".github").exists()
    assert (root / "requirements.txt").is_file()  # the rest of the example as usual
    assert ".github/workflows" not in result.stdout


def test_fork_safe_without_workflows_is_a_usage_error(tmp_path: Path):
    result = cli("init", "--fork-safe", "--no-workflows", str(tmp_path / "demo"), cwd=tmp_path)
    assert result.code == 2
    assert "--fork-safe" in result.stderr and "--no-workflows" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "demo").exists()


@pytest.fixture
def repo_with_workflows(tmp_path: Path) -> Path:
    """A user's repository with a workflow of its own and one named like init's."""
    root = tmp_path / "work"
    (root / WORKFLOWS).mkdir(parents=True)
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    (root / WORKFLOWS / "other.yml").write_text("name: mine\n")
    (root / WORKFLOWS / "mlops-ci.yml").write_text("name: my own mlops-ci\n")
    git("add", ".", cwd=root)
    git("commit", "--quiet", "-m", "User's workflows", cwd=root)
    return root


def test_an_existing_workflow_is_not_overwritten_without_force(repo_with_workflows: Path):
    root = repo_with_workflows
    result = cli("init", str(root), cwd=root)
    assert result.code == 2
    assert ".github/workflows/mlops-ci.yml" in result.stderr and "--force" in result.stderr
    assert (root / WORKFLOWS / "mlops-ci.yml").read_text() == "name: my own mlops-ci\n"
    assert not (root / WORKFLOWS / "mlops-ci-release.yml").exists()  # nothing written at all
    assert not (root / "dvc.yaml").exists()


def test_force_overwrites_init_s_workflows_and_leaves_the_user_s_others(repo_with_workflows: Path):
    root = repo_with_workflows
    result = cli("init", "--force", str(root), cwd=root)
    assert result.code == 0, result.stderr
    ours = (TEMPLATES / "mlops-ci.yml").read_bytes()
    assert (root / WORKFLOWS / "mlops-ci.yml").read_bytes() == ours
    assert (root / WORKFLOWS / "other.yml").read_text() == "name: mine\n"
    changed = git("show", "--name-only", "--format=", "HEAD", cwd=root).splitlines()
    assert f"{WORKFLOWS}/other.yml" not in changed
    assert f"{WORKFLOWS}/mlops-ci.yml" in changed


def test_a_users_other_workflow_does_not_block_init(tmp_path: Path):
    root = tmp_path / "work"
    (root / WORKFLOWS).mkdir(parents=True)
    (root / WORKFLOWS / "other.yml").write_text("name: mine\n")
    result = cli("init", str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert (root / WORKFLOWS / "other.yml").read_text() == "name: mine\n"
    assert "?? .github/workflows/other.yml" in git("status", "--porcelain", cwd=root)


def test_init_writes_the_workflows_through_no_symbolic_link(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "work"
    (root / ".github").mkdir(parents=True)
    (root / WORKFLOWS).symlink_to(outside)
    result = cli("init", str(root), cwd=tmp_path)
    assert result.code == 2 and "symbolic link" in result.stderr
    assert list(outside.iterdir()) == []


# --- requirements.txt: what the example's stages import, with pyproject.toml's lower bounds ---

# Import names whose distribution is named otherwise.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml"}


def requirements_text() -> str:
    return example_files()["requirements.txt"].read_text(encoding="utf-8")


def requirements() -> dict[str, Requirement]:
    lines = requirements_text().splitlines()
    reqs = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {req.name.lower(): req for req in reqs}


def third_party_imports() -> set[str]:
    names: set[str] = set()
    for path, source in example_files().items():
        if not path.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return {DISTRIBUTIONS.get(n, n) for n in names if n not in sys.stdlib_module_names}


def test_requirements_list_what_the_stages_import_and_dvc():
    listed = requirements()
    assert third_party_imports() == {"pandas", "pyyaml", "scikit-learn"}
    assert set(listed) == third_party_imports() | {"dvc"}
    # mlops-ci is the action's to install, in its own virtualenv; the file says so
    assert "mlops-ci" not in listed and "mlops_ci" not in listed
    assert "the GitHub Action installs it" in requirements_text()


def test_requirements_have_the_lower_bounds_of_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ours = {  # mlops-ci's own, and the `example` extra's (the stages' libraries)
        req.name.lower(): req
        for req in map(Requirement, project["dependencies"]
                       + project["optional-dependencies"]["example"])
    }
    for name, req in requirements().items():
        assert str(req.specifier) == str(ours[name].specifier), name
        assert str(req.specifier).startswith(">="), name


# --- the workflows' DVC pull step, run as the runner runs it (bash -e), with real dvc ---------


def pull_script(name: str) -> str:
    workflow = yaml.safe_load((TEMPLATES / name).read_text(encoding="utf-8"))
    (script,) = [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"]
        if "dvc pull" in step.get("run", "")
    ]
    return str(script)


def run_step(script: str, cwd: Path, *, dvc_on_path: bool = True) -> subprocess.CompletedProcess:
    # dvc is where a user's `pip install -r requirements.txt` put it: beside the Python
    path = f"{Path(sys.executable).parent}:/usr/bin:/bin" if dvc_on_path else "/usr/bin:/bin"
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], cwd=cwd,
        env={**clean_env(), "PATH": path}, capture_output=True, text=True, timeout=300,
        check=False,
    )


def test_the_three_workflows_pull_alike():
    assert pull_script("mlops-ci.yml") == pull_script("mlops-ci-report.yml")
    assert pull_script("mlops-ci.yml") == pull_script("mlops-ci-release.yml")


@pytest.fixture
def tracked_data(tmp_path: Path) -> Path:
    """A DVC repository with one file tracked by DVC (data.txt) and no remote."""
    root = new_dvc_repo(tmp_path / "repo")
    (root / "data.txt").write_text("rows\n")
    dvc("add", "-q", "data.txt", cwd=root)
    git("add", ".", cwd=root)
    git("commit", "-qm", "data", cwd=root)
    return root


def test_without_a_remote_the_pull_step_says_so_and_passes(tracked_data: Path):
    done = run_step(pull_script("mlops-ci.yml"), tracked_data)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No default DVC remote: nothing to pull." in done.stdout


def test_with_a_default_remote_the_pull_step_pulls_and_allows_what_was_never_pushed(
    tracked_data: Path, tmp_path: Path
):
    root = tracked_data
    dvc("remote", "add", "-d", "storage", str(tmp_path / "remote"), cwd=root)
    dvc("push", "-q", cwd=root)
    (root / "new.txt").write_text("a pull request's new output, not pushed yet\n")
    dvc("add", "-q", "new.txt", cwd=root)
    git("add", ".", cwd=root)
    git("commit", "-qm", "remote, and a file only this workspace has", cwd=root)
    shutil.rmtree(root / ".dvc" / "cache")
    (root / "data.txt").unlink()
    (root / "new.txt").unlink()
    done = run_step(pull_script("mlops-ci.yml"), root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (root / "data.txt").read_text() == "rows\n"  # from the remote
    assert not (root / "new.txt").exists()  # missing everywhere: allowed, left to dvc repro


def test_the_pull_step_fails_when_dvc_is_not_installed(tracked_data: Path):
    done = run_step(pull_script("mlops-ci.yml"), tracked_data, dvc_on_path=False)
    assert done.returncode == 1
    assert "::error title=dvc is not installed::Add dvc to requirements.txt." in done.stdout
