"""Fixtures shared by the test suite: real git and real dvc in temporary repositories.

The example project is scaffolded and reproduced once per session (`dvc repro` trains a model,
which takes seconds); each test that changes it gets its own copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The local GitHub API (real sockets, checked against GitHub's OpenAPI description) and the
# guard that fails any test reaching for a host outside loopback.
pytest_plugins = ["github_fake.plugin"]

IDENTITY = {
    "GIT_AUTHOR_NAME": "mlops-ci tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "mlops-ci tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def clean_env() -> dict[str, str]:
    """The environment tests run in: no GitHub Actions variables leak in from a CI runner."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.pop("CI", None)
    env.update(IDENTITY)
    env["DVC_NO_ANALYTICS"] = "true"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["NO_COLOR"] = "1"
    return env


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("GITHUB_", "RUNNER_")) or key == "CI":
            monkeypatch.delenv(key)
    for key, value in clean_env().items():
        monkeypatch.setenv(key, value)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """Run the real `mlops-ci` entry point in a subprocess, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_ci", *args],
        cwd=cwd,
        env={**clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def dvc(*args: str, cwd: Path, timeout: float = 300) -> str:
    """Run the real `dvc` in the test environment; fail the test with DVC's own words."""
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=cwd, env=clean_env(), check=False,
        capture_output=True, text=True, timeout=timeout,
    )
    assert done.returncode == 0, f"dvc {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


_tmp_path_factory: pytest.TempPathFactory | None = None
_dvc_init_template: Path | None = None


@pytest.fixture(autouse=True, scope="session")
def _remember_tmp_path_factory(tmp_path_factory: pytest.TempPathFactory) -> None:
    global _tmp_path_factory
    _tmp_path_factory = tmp_path_factory


def run_without(modules: list[str], code: str, *, cwd: Path) -> str:
    """What *code* prints in a child Python where *modules* cannot be imported (an optional
    extra not installed); the child must exit 0."""
    blocked = "".join(f"sys.modules[{name!r}] = None\n" for name in modules)
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{blocked}{code}"], cwd=cwd, capture_output=True,
        text=True, check=True,
    )
    return done.stdout


def new_dvc_repo(root: Path) -> Path:
    """A new directory *root* holding a git repository on `main` with DVC initialised.

    `git init` and `dvc init` run once per session (DVC's start-up costs a second or more);
    each repository is a copy of that one. `.dvc/tmp/btime` is left out, so that each copy
    writes its own, as a repository initialised on its own would (DVC keys its site cache on
    it and on the path).
    """
    global _dvc_init_template
    if _dvc_init_template is None:
        assert _tmp_path_factory is not None, "new_dvc_repo() runs inside a test"
        template = _tmp_path_factory.mktemp("dvc-init") / "repo"
        template.mkdir()
        git("init", "-q", "-b", "main", cwd=template)
        dvc("init", "-q", cwd=template)
        (template / ".dvc" / "tmp" / "btime").unlink(missing_ok=True)
        _dvc_init_template = template
    shutil.copytree(_dvc_init_template, root, symlinks=True)
    return root


def tree_state(root: Path) -> dict[str, bytes]:
    """Every file in the work tree (outside .git, .dvc/tmp and .dvc/cache) with its content."""
    state = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith((".git/", ".dvc/tmp/", ".dvc/cache/")) or rel == ".git":
            continue
        if path.is_file():
            state[rel] = path.read_bytes()
    return state


@dataclass
class FirstRun:
    template: Path
    result: Result


@pytest.fixture(scope="session")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    """`mlops-ci init` then `mlops-ci run` on it; its results are then committed on main."""
    template = tmp_path_factory.mktemp("example") / "demo"
    # No workflows: a test that runs one adds its own (test_action_e2e.py adds tests/e2e's).
    init = cli("init", "--no-workflows", str(template), cwd=template.parent)
    assert init.code == 0, init.stderr
    result = cli("run", cwd=template)
    git("add", "--all", cwd=template)
    git("commit", "--quiet", "-m", "Record the first results", cwd=template)
    return FirstRun(template=template, result=result)


@pytest.fixture
def project(first_run: FirstRun, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the reproduced example project, on main with its results committed."""
    copy = tmp_path / "demo"
    shutil.copytree(first_run.template, copy, symlinks=True)
    shutil.rmtree(copy / ".mlops", ignore_errors=True)
    yield copy
