"""`mlops-ci init --template classification|regression`: the projects on the built-in stages.

What init writes and commits, with real git and dvc (`dvc repro` and `mlops-ci run` on these
projects are in test_templates_pipeline.py). The default example (templates/project/) is
test_scaffold.py's.
"""

from __future__ import annotations

import ast
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from conftest import cli, git, new_dvc_repo, run_without
from mlops_ci.config import load_config
from mlops_ci.dvc_plot_templates import PLOT_TEMPLATES, template_text
from mlops_ci.errors import InputError
from mlops_ci.scaffold import TEMPLATES, example_files, init_project, scaffold_files

ROOT = Path(__file__).resolve().parent.parent
PLOT_FILES = {f".dvc/plots/{name}.json" for name in PLOT_TEMPLATES}
DVC_FILES = {".dvc/config", ".dvc/.gitignore", ".dvcignore"}
WORKFLOWS = ".github/workflows"


def workflows(root: Path) -> list[str]:
    return sorted(p.name for p in (root / WORKFLOWS).iterdir())


def test_the_templates_are_the_packaged_project_directories():
    packaged = resources.files("mlops_ci.templates") / "projects"
    assert sorted(entry.name for entry in packaged.iterdir() if entry.is_dir()) == sorted(TEMPLATES)
    assert TEMPLATES == ("classification", "regression")


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_is_a_whole_project_of_its_own(template: str):
    files = example_files(template)
    assert set(files) == {
        ".gitignore", "dvc.yaml", "mlops.yaml", "params.yaml", "requirements.txt",
        "src/prepare.py",
    }
    # read through importlib.resources, from the template's own directory, not the default's
    for name, source in files.items():
        packaged = ROOT / "templates" / "projects" / template / name.replace(".git", "git")
        assert source.read_bytes() == packaged.read_bytes(), name
    assert files["dvc.yaml"].read_bytes() != example_files()["dvc.yaml"].read_bytes()


@pytest.mark.parametrize("template", TEMPLATES)
def test_init_with_a_template_makes_one_commit_with_the_plot_templates(
    tmp_path: Path, template: str
):
    root = tmp_path / "p"
    result = cli("init", "--template", template, str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert git("status", "--porcelain", "--untracked-files=all", cwd=root) == ""
    assert git("log", "--format=%s", cwd=root) == f"Scaffold the mlops-ci {template} project"
    tracked = set(git("ls-files", cwd=root).splitlines())
    assert tracked == set(scaffold_files(template=template)) | DVC_FILES | PLOT_FILES
    for name in PLOT_TEMPLATES:  # where DVC looks a custom template up, byte for byte ours
        assert (root / ".dvc" / "plots" / f"{name}.json").read_text() == template_text(name)
    assert f"Created the {template} project, a git + DVC project, in {root}" in result.stdout
    assert f"({len(tracked - DVC_FILES)} files, one commit on main)" in result.stdout
    assert "pip install -r requirements.txt" in result.stdout


def test_init_says_which_libraries_the_built_in_stages_lack(tmp_path: Path):
    # this Python has the evaluate extra: nothing to say
    result = cli("init", "--template", "regression", str(tmp_path / "p"), cwd=tmp_path)
    assert result.code == 0 and "lacks" not in result.stdout
    # one without skops and matplotlib (an install without the extra) is told what to install
    out = run_without(["skops", "matplotlib"], init_code(tmp_path / "q", "classification"),
                      cwd=tmp_path)
    assert "need skops, matplotlib, which the Python of this mlops-ci lacks" in out
    assert "pip install 'mlops-ci[evaluate]'" in out
    # the default example's stages are its own scripts: nothing to say
    assert "lacks" not in run_without(["skops"], init_code(tmp_path / "d", None), cwd=tmp_path)


def init_code(directory: Path, template: str | None) -> str:
    return (
        "import sys, pathlib\n"
        "from mlops_ci.commands.init import init\n"
        f"init(directory=pathlib.Path({str(directory)!r}), force=False, stdout=sys.stdout, "
        f"template={template!r})\n"
    )


def test_the_default_example_has_no_plot_templates(tmp_path: Path):
    init_project(tmp_path / "p")
    assert not (tmp_path / "p" / ".dvc" / "plots").exists()
    assert git("log", "--format=%s", cwd=tmp_path / "p") == "Scaffold the mlops-ci example project"


def test_an_unknown_template_is_refused_with_the_valid_names(tmp_path: Path):
    result = cli("init", "--template", "clasification", str(tmp_path / "p"), cwd=tmp_path)
    assert result.code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert "'clasification'" in result.stderr
    assert "did you mean classification?" in result.stderr
    assert "classification, regression" in result.stderr
    assert not (tmp_path / "p").exists()  # refused before anything is written
    with pytest.raises(InputError, match="Choose one of classification, regression"):
        init_project(tmp_path / "q", template="images")
    assert not (tmp_path / "q").exists()


def test_the_help_names_every_template():
    result = cli("init", "--help", cwd=ROOT)
    assert result.code == 0
    assert all(name in result.stdout for name in TEMPLATES)


# --- the flags init already had, with --template --------------------------------------------


def test_template_writes_the_same_workflows_as_the_default(tmp_path: Path):
    default, templated = tmp_path / "default", tmp_path / "templated"
    assert cli("init", str(default), cwd=tmp_path).code == 0
    assert cli("init", "--template", "regression", str(templated), cwd=tmp_path).code == 0
    assert workflows(templated) == workflows(default) == ["mlops-ci-release.yml", "mlops-ci.yml"]
    for name in workflows(default):
        ours = (templated / WORKFLOWS / name).read_bytes()
        assert ours == (default / WORKFLOWS / name).read_bytes()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--no-workflows"], None),
        (["--fork-safe"], ["mlops-ci-comment.yml", "mlops-ci-release.yml", "mlops-ci-report.yml"]),
        (["--deploy"], ["mlops-ci-deploy.yml", "mlops-ci-release.yml", "mlops-ci.yml"]),
        (
            ["--fork-safe", "--deploy"],
            ["mlops-ci-comment.yml", "mlops-ci-deploy.yml", "mlops-ci-release.yml",
             "mlops-ci-report.yml"],
        ),
    ],
)
def test_template_with_the_workflow_flags(tmp_path: Path, flags: list[str], expected):
    root = tmp_path / "p"
    result = cli("init", "--template", "classification", *flags, str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert (root / "dvc.yaml").is_file() and (root / ".dvc" / "plots").is_dir()
    if expected is None:
        assert not (root / ".github").exists()
    else:
        assert workflows(root) == expected
        tracked = git("ls-files", WORKFLOWS, cwd=root).splitlines()
        assert tracked == [f"{WORKFLOWS}/{name}" for name in expected]


@pytest.mark.parametrize("flag", ["--fork-safe", "--deploy"])
def test_template_with_a_workflow_flag_and_no_workflows_is_a_usage_error(
    tmp_path: Path, flag: str
):
    root = tmp_path / "p"
    result = cli("init", "--template", "regression", flag, "--no-workflows", str(root),
                 cwd=tmp_path)
    assert result.code == 2 and flag in result.stderr and "--no-workflows" in result.stderr
    assert not root.exists()


def test_template_refuses_to_overwrite_without_force_and_overwrites_with_it(tmp_path: Path):
    (tmp_path / "params.yaml").write_text("mine: 1\n")
    result = cli("init", "--template", "regression", str(tmp_path), cwd=tmp_path)
    assert result.code == 2 and "params.yaml" in result.stderr and "--force" in result.stderr
    assert (tmp_path / "params.yaml").read_text() == "mine: 1\n"
    assert not (tmp_path / "dvc.yaml").exists()

    result = cli("init", "--template", "regression", "--force", str(tmp_path), cwd=tmp_path)
    assert result.code == 0, result.stderr
    params = (tmp_path / "params.yaml").read_bytes()
    assert params == example_files("regression")["params.yaml"].read_bytes()


def test_template_over_the_default_example_with_force_replaces_its_files(tmp_path: Path):
    root = tmp_path / "p"
    init_project(root)
    assert cli("init", "--template", "classification", str(root), cwd=tmp_path).code == 2
    result = cli("init", "--template", "classification", "--force", str(root), cwd=tmp_path)
    assert result.code == 0, result.stderr
    for name, source in example_files("classification").items():
        if name != ".gitignore":  # merged, not replaced
            assert (root / name).read_bytes() == source.read_bytes(), name
    # the default's scripts it does not write stay, as --force documents: only overwrites
    assert (root / "src" / "train.py").is_file()
    last = git("log", "-1", "--format=%s", cwd=root)
    assert last == "Scaffold the mlops-ci classification project"
    assert git("status", "--porcelain", cwd=root) == ""


def test_template_in_a_users_repository_commits_only_its_own_files(tmp_path: Path):
    root = tmp_path / "work"
    root.mkdir()
    git("init", "--quiet", "--initial-branch=develop", cwd=root)
    (root / "mine.txt").write_text("untracked\n")
    result = cli("init", "--template", "regression", str(root), cwd=root)
    assert result.code == 0, result.stderr
    committed = set(git("ls-files", cwd=root).splitlines())
    assert committed == set(scaffold_files(template="regression")) | DVC_FILES | PLOT_FILES
    assert git("status", "--porcelain", cwd=root) == "?? mine.txt"
    assert "Added the regression project to the git repository" in result.stdout


def test_a_users_own_plot_template_is_left_alone(tmp_path: Path):
    root = new_dvc_repo(tmp_path / "work")
    (root / ".dvc" / "plots").mkdir()
    mine = root / ".dvc" / "plots" / "confusion_count.json"
    mine.write_text('{"mine": true}\n')
    result = cli("init", "--template", "classification", str(root), cwd=root)
    assert result.code == 0, result.stderr
    assert mine.read_text() == '{"mine": true}\n'
    assert ".dvc/plots/confusion_count.json" not in git("ls-files", cwd=root)


# --- what each template declares --------------------------------------------------------------


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_mlops_yaml_is_valid_and_its_gates_ask_for_evidence(tmp_path: Path, template: str):
    init_project(tmp_path / "p", template=template, workflows=False)
    config = load_config(tmp_path / "p" / "mlops.yaml")
    assert config.model.path == "model.skops"
    assert list(config.metrics.files) == ["eval/metrics.json"]
    assert config.evaluation.declared
    assert config.evaluation.predictions == "eval/predictions.parquet"
    tests = {gate.evidence.test for gate in config.gates} - {None}
    assert tests == ({"mcnemar", "paired_bootstrap"} if template == "classification"
                     else {"paired_bootstrap"})
    sliced = [gate.evidence.slice for gate in config.gates if gate.evidence.slice]
    assert len(sliced) == 1
    ((column, _value),) = sliced[0]
    assert (column,) in config.evaluation.slices
    for name in ("description", "intended_use", "training_data", "evaluation_data"):
        assert getattr(config.card, name), name


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_pipeline_is_prepare_then_the_built_in_train_and_evaluate(
    tmp_path: Path, template: str
):
    init_project(tmp_path / "p", template=template, workflows=False)
    stages = yaml.safe_load((tmp_path / "p" / "dvc.yaml").read_text())["stages"]
    assert list(stages) == ["prepare", "train", "evaluate"]
    assert stages["train"]["cmd"].startswith("mlops-ci train --data data/train.parquet ")
    assert stages["train"]["outs"][0] == "model.skops"
    assert stages["evaluate"]["cmd"].startswith(
        "mlops-ci evaluate --model model.skops --data data/test.parquet "
    )
    # committed with git: a fresh clone without a DVC remote has the base's predictions
    assert stages["evaluate"]["outs"][0] == {"eval/predictions.parquet": {"cache": False}}
    assert stages["evaluate"]["metrics"] == [{"eval/metrics.json": {"cache": False}}]
    plots = {next(iter(entry)): entry[next(iter(entry))] for entry in stages["evaluate"]["plots"]}
    assert all(props["cache"] is False for props in plots.values())  # kept in git
    pngs = {Path(name).stem for name in plots if name.endswith(".png")}
    jsons = {Path(name).stem for name in plots if name.endswith(".json")}
    assert pngs == jsons
    if template == "classification":
        assert jsons == {"confusion", "roc", "precision_recall", "calibration"}
        confusion = plots["eval/plots/confusion.json"]
        # DVC's way round, and the report's table then has a row per actual class, as the PNG
        assert (confusion["template"], confusion["x"], confusion["y"]) == (
            "confusion_count", "actual", "predicted"
        )
    else:
        assert jsons == {"errors", "residuals"}


# --- requirements.txt: what the stages need, with pyproject.toml's lower bounds ---------------

DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml"}
# what `mlops-ci train` and `mlops-ci evaluate` load: the `evaluate` extra's libraries
BUILT_IN_STAGES = {"scikit-learn", "pandas", "pyarrow", "skops", "matplotlib"}


def requirements(template: str) -> dict[str, Requirement]:
    text = example_files(template)["requirements.txt"].read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {req.name.lower(): req for req in map(Requirement, lines)}


def imports(template: str) -> set[str]:
    names: set[str] = set()
    for path, source in example_files(template).items():
        if path.endswith(".py"):
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return {DISTRIBUTIONS.get(n, n) for n in names if n not in sys.stdlib_module_names}


@pytest.mark.parametrize("template", TEMPLATES)
def test_requirements_list_what_the_stages_need(template: str):
    assert imports(template) <= {"pandas", "pyyaml", "scikit-learn"}
    assert set(requirements(template)) == imports(template) | BUILT_IN_STAGES | {"dvc", "pyyaml"}
    text = example_files(template)["requirements.txt"].read_text(encoding="utf-8")
    assert "pip install 'mlops-ci[evaluate]'" in text


@pytest.mark.parametrize("template", TEMPLATES)
def test_requirements_have_the_lower_bounds_of_pyproject(template: str):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    ours = {
        req.name.lower(): req
        for req in map(Requirement, project["dependencies"] + extras["evaluate"])
    }
    for name, req in requirements(template).items():
        assert str(req.specifier) == str(ours[name].specifier), name
        assert str(req.specifier).startswith(">="), name
