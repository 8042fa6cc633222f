"""The built wheel carries everything a user's install needs: the top-level templates/ included.

The source tree is built into a wheel (from a copy of the files git knows, so the build leaves
nothing in the checkout), the wheel is installed into a fresh virtualenv with its dependencies,
and that install — not this checkout — scaffolds the example with `mlops-ci init` and runs the
pipeline with `mlops-ci run`. A template or schema left out of the wheel fails here, where the
editable install of the test suite would still find it in the source tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import clean_env, git

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# A bound on a hung install, not a timing assertion: with uv's cache warm it takes seconds.
INSTALL_TIMEOUT = 900


def find_uv() -> str:
    """uv next to this Python (the Makefile installs it there), else on PATH."""
    beside = Path(sys.executable).parent / "uv"
    uv = str(beside) if beside.is_file() else shutil.which("uv")
    if uv is None:
        pytest.skip("uv not installed: the Makefile installs it into the venv (`make test`)")
    return uv


def source_copy(dest: Path) -> Path:
    """The files git tracks or would track (not ignored), copied to *dest*."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():  # a deleted, not yet staged file is still listed
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(args), cwd=cwd, env=clean_env(), capture_output=True, text=True,
        timeout=INSTALL_TIMEOUT, check=False,
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the built wheel, the bin directory of a fresh virtualenv with it installed)."""
    uv = find_uv()
    work = tmp_path_factory.mktemp("wheel")
    source = source_copy(work / "source")
    run(uv, "build", "--quiet", "--wheel", "--out-dir", str(work / "dist"), str(source), cwd=work)
    (wheel,) = (work / "dist").glob("mlops_ci-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=work)
    run(uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel),
        cwd=work)
    return wheel, venv / "bin"


def test_the_wheel_ships_every_template_the_source_has(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = [
        p.relative_to(ROOT / "templates").as_posix()
        for p in (ROOT / "templates").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert "report.md.j2" in templates and "project/dvc.yaml" in templates
    missing = [t for t in templates if f"mlops_ci/templates/{t}" not in names]
    assert missing == []
    assert "mlops_ci/schema/report.schema.json" in names


def test_the_wheel_ships_every_module_the_source_has(installed: tuple[Path, Path]) -> None:
    # pyproject.toml lists the packages by name: a new subpackage left off the list would
    # import from the checkout and be missing from every user's install.
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "mlops_ci").rglob("*.py")
        if "__pycache__" not in p.parts
    ]
    assert "mlops_ci/release/sign.py" in modules
    assert [m for m in modules if m not in names] == []


def test_init_and_run_work_from_the_installed_wheel(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bin_dir = installed
    # The installed package, not this checkout: run from elsewhere, with nothing on sys.path.
    where = run(str(bin_dir / "python"), "-c", "import mlops_ci; print(mlops_ci.__file__)",
                cwd=tmp_path)
    assert not Path(where.stdout.strip()).is_relative_to(ROOT)

    project = tmp_path / "demo"
    run(str(bin_dir / "mlops-ci"), "init", str(project), cwd=tmp_path)
    assert (project / "dvc.yaml").is_file() and (project / "src" / "train.py").is_file()

    # The stages run `python`: here the venv's, given the example's requirements as a user
    # would (mlops-ci itself depends on none of scikit-learn and pandas).
    run(find_uv(), "pip", "install", "--quiet", "--python", str(bin_dir / "python"),
        "-r", str(project / "requirements.txt"), cwd=project)
    env = clean_env()
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    proc = subprocess.run(
        [str(bin_dir / "mlops-ci"), "run"], cwd=project, env=env, capture_output=True,
        text=True, timeout=INSTALL_TIMEOUT, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (project / ".mlops" / "report.md").read_text(encoding="utf-8").strip()
    assert (project / ".mlops" / "model-card.md").read_text(encoding="utf-8").startswith("---")


@pytest.mark.parametrize("template", ["classification", "regression"])
def test_init_writes_each_template_from_the_installed_wheel(
    installed: tuple[Path, Path], tmp_path: Path, template: str
) -> None:
    # templates/projects/NAME/ and templates/dvc_plots/, read through importlib.resources from
    # the installed package: nothing of this checkout is on the path
    _, bin_dir = installed
    project = tmp_path / template
    run(str(bin_dir / "mlops-ci"), "init", "--template", template, str(project), cwd=tmp_path)
    for name in ("dvc.yaml", "params.yaml", "mlops.yaml", "requirements.txt", "src/prepare.py",
                 ".gitignore", ".dvc/plots/confusion_count.json"):
        source = ROOT / "templates" / "projects" / template / name.replace(".git", "git")
        if name.startswith(".dvc/"):
            source = ROOT / "templates" / "dvc_plots" / Path(name).name
        assert (project / name).read_bytes() == source.read_bytes(), name
    assert git("status", "--porcelain", cwd=project) == ""
