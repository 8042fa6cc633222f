"""Bases and data in a fresh clone (issue 7, section 3).

Real git and real dvc: a project whose input `source` is tracked with `dvc add` and whose model
is a DVC-cached output, pushed to a local-directory remote, then cloned with `git clone` from a
file URL on its feature branch, so the clone has `origin/main` but no `main`, and no data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import cli, dvc, git, new_dvc_repo
from mlops_ci.repro_options import REPRO_FLAGS, ReproOptions

TRAIN = (
    "import json\nscore = float(open('source').read()) + {bonus}\n"
    "open('model.txt', 'w').write(str(score))\n"
    "json.dump({{'acc': score}}, open('metrics.json', 'w'))\n"
)
DVC_YAML = f"""\
stages:
  train:
    cmd: {sys.executable} train.py
    deps: [source, train.py]
    outs: [model.txt]
    metrics:
      - metrics.json:
          cache: false
"""
MLOPS = """\
model: {name: m, path: model.txt}
gates:
  - metric: acc
    min: 0.5
"""


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository users clone: main at acc 0.9, branch `change` at 0.91, data pushed."""
    base = tmp_path_factory.mktemp("fresh")
    root = base / "upstream"
    new_dvc_repo(root)
    dvc("remote", "add", "-d", "storage", str(base / "remote"), cwd=root)
    (root / "source").write_text("0.9")
    dvc("add", "-q", "source", cwd=root)
    (root / "train.py").write_text(TRAIN.format(bonus=0))
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "mlops.yaml").write_text(MLOPS)
    (root / ".gitignore").write_text("/source\n/model.txt\n.mlops/\n")
    dvc("repro", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    git("checkout", "-qb", "change", cwd=root)
    (root / "train.py").write_text(TRAIN.format(bonus=0.01))
    dvc("repro", "-q", cwd=root)
    git("commit", "-qam", "change", cwd=root)
    dvc("push", "-q", "--all-branches", cwd=root)
    return root


@pytest.fixture
def clone(upstream: Path, tmp_path: Path) -> Path:
    """A fresh clone of `change`: only `origin/*` branches, and no data until pulled."""
    git("clone", "-q", "-b", "change", upstream.as_uri(), "clone", cwd=tmp_path)
    root = tmp_path / "clone"
    assert git("branch", "--list", "main", cwd=root) == ""
    assert not (root / "source").exists()
    return root


def report(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / ".mlops" / "report.json").read_text())


def origin_main(root: Path) -> str:
    return git("rev-parse", "origin/main", cwd=root)


# --- the base: NAME, then origin/NAME, resolved before the pipeline runs ---------------------


def test_base_main_resolves_to_origin_main(clone: Path) -> None:
    result = cli("run", "--no-repro", "--base", "main", cwd=clone)
    assert result.code == 0, result.stderr
    base = report(clone)["base"]
    assert (base["rev"], base["ref"]) == (origin_main(clone), "origin/main")
    assert "--base main, found as origin/main" in base["description"]
    assert "(origin/main)" in result.stdout


def test_base_with_ancestry_resolves_through_origin(clone: Path) -> None:
    result = cli("run", "--no-repro", "--base", "main~0", cwd=clone)
    assert result.code == 0, result.stderr
    assert report(clone)["base"]["ref"] == "origin/main~0"
    deep = cli("run", "--no-repro", "--base", "main~5", cwd=clone)
    assert deep.code == 2
    assert "goes back further than the history" in deep.stderr
    assert "main has 1 commit(s)" in deep.stderr


@pytest.mark.parametrize("env", [{}, {"GITHUB_BASE_REF": "main"}])
def test_default_base_in_a_fresh_clone_is_origin_main(clone: Path, env: dict[str, str]) -> None:
    result = cli("run", "--no-repro", cwd=clone, env=env)
    assert result.code == 0, result.stderr
    base = report(clone)["base"]
    assert (base["rev"], base["ref"]) == (origin_main(clone), "origin/main")


def test_a_wrong_base_fails_before_the_pipeline_runs(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    new_dvc_repo(root)
    (root / "dvc.yaml").write_text(
        f"stages:\n  slow:\n    cmd: {sys.executable} -c \"open('ran', 'w').write('1')\"\n"
        "    outs: [ran]\n    always_changed: true\nmetrics: [metrics.json]\n"
    )
    (root / "metrics.json").write_text('{"acc": 0.9}')
    (root / "mlops.yaml").write_text(MLOPS.replace("path: model.txt", "path: ran"))
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    result = cli("run", "--base", "nope", cwd=root)
    assert result.code == 2, result.stdout + result.stderr
    assert "--base 'nope' or 'origin/nope' not found" in result.stderr
    assert "dvc repro" not in result.stderr
    assert not (root / "ran").exists()


# --- DVC-tracked data that are not in the workspace ------------------------------------------


def test_missing_data_says_it_is_tracked_by_dvc_and_how_to_pull(clone: Path) -> None:
    result = cli("run", "--base", "main", cwd=clone)
    assert result.code == 2, result.stdout + result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "'source' is tracked by DVC but not in the workspace" in message
    assert "DVC remote 'storage'" in message
    assert "`dvc pull`" in message and "`mlops-ci run --pull`" in message
    assert "Traceback" not in result.stderr


def test_missing_data_without_a_remote_says_there_is_none(clone: Path) -> None:
    dvc("remote", "remove", "storage", cwd=clone)
    result = cli("run", "--base", "main", cwd=clone)
    assert result.code == 2, result.stdout + result.stderr
    assert "no default DVC remote is configured" in result.stderr
    assert "dvc remote add -d" in result.stderr


def test_pull_brings_the_data_and_the_run_succeeds(clone: Path) -> None:
    result = cli("run", "--base", "main", "--pull", cwd=clone)
    assert result.code == 0, result.stdout + result.stderr
    assert "running `dvc repro --pull`" in result.stderr
    assert (clone / "source").read_text() == "0.9"
    assert (clone / "model.txt").exists()
    data = report(clone)
    assert data["base"]["ref"] == "origin/main"
    assert data["metrics"][0]["base"] == 0.9


def test_pull_from_a_remote_without_the_data_says_so(clone: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    dvc("remote", "modify", "storage", "url", str(tmp_path / "empty"), cwd=clone)
    result = cli("run", "--base", "main", "--pull", cwd=clone)
    assert result.code == 2, result.stdout + result.stderr
    assert "pulling from the DVC remote 'storage' did not bring it" in result.stderr


def test_mlops_yaml_pull_and_the_command_line_wins(clone: Path) -> None:
    (clone / "mlops.yaml").write_text(MLOPS + "pipeline:\n  pull: true\n")
    refused = cli("run", "--base", "main", "--no-pull", cwd=clone)
    assert refused.code == 2, refused.stdout + refused.stderr
    assert "not in the workspace" in refused.stderr
    result = cli("run", "--base", "main", cwd=clone)
    assert result.code == 0, result.stdout + result.stderr
    assert (clone / "source").exists()


# --- targets and flags ------------------------------------------------------------------------


def test_targets_and_flags_from_the_command_line(clone: Path) -> None:
    args = ("run", "--base", "main", "--target", "train", "--repro-flag", "force")
    forced = cli(*args, "--pull", cwd=clone)
    assert forced.code == 2, forced.stdout + forced.stderr
    assert "running `dvc repro --pull --force -- train`" in forced.stderr
    # DVC pulls only for the stages it would skip: the message says so, not "push them"
    assert "reruns stages without pulling their inputs. Run `dvc pull` first" in forced.stderr
    dvc("pull", "-q", cwd=clone)
    result = cli(*args, "--repro-flag", "--single-item", cwd=clone)
    assert result.code == 0, result.stdout + result.stderr
    assert "running `dvc repro --force --single-item -- train`" in result.stderr
    assert "Running stage 'train'" in result.stderr  # --force: it ran although nothing changed


def test_targets_and_flags_from_mlops_yaml_and_the_command_line_wins(clone: Path) -> None:
    (clone / "mlops.yaml").write_text(
        MLOPS + "pipeline:\n  pull: true\n  targets: [train]\n  flags: [--allow-missing]\n"
    )
    result = cli("run", "--base", "main", cwd=clone)
    assert result.code == 0, result.stdout + result.stderr
    assert "running `dvc repro --pull --allow-missing -- train`" in result.stderr
    assert "Running stage 'train'" not in result.stderr
    dvc("pull", "-q", cwd=clone)
    again = cli("run", "--base", "main", "--repro-flag", "force", "--no-pull", cwd=clone)
    assert again.code == 0, again.stdout + again.stderr
    assert "running `dvc repro --force -- train`" in again.stderr
    assert "Running stage 'train'" in again.stderr


@pytest.mark.parametrize("target", ["nope", "--dry", "train; touch pwned"])
def test_a_target_that_is_not_a_stage_is_refused_with_the_stages(
    clone: Path, target: str
) -> None:
    result = cli("run", "--base", "main", f"--target={target}", cwd=clone)
    assert result.code == 2, result.stdout + result.stderr
    assert "which is not a stage in the pipeline. The stages are: train." in result.stderr
    assert "running `dvc repro" not in result.stderr
    assert not (clone / "pwned").exists()


def test_a_target_in_mlops_yaml_that_is_not_a_stage(clone: Path) -> None:
    (clone / "mlops.yaml").write_text(MLOPS + "pipeline:\n  targets: [evaluate]\n")
    result = cli("run", "--base", "main", cwd=clone)
    assert result.code == 2, result.stdout + result.stderr
    assert "pipeline.targets in mlops.yaml names 'evaluate', which is not a stage" in result.stderr
    assert "The stages are: train." in result.stderr


def test_a_flag_off_the_list_is_refused(clone: Path) -> None:
    result = cli("run", "--base", "main", "--repro-flag", "dry", cwd=clone)
    assert result.code == 2, result.stdout + result.stderr
    assert "--repro-flag 'dry' is not a `dvc repro` flag mlops-ci passes on" in result.stderr
    assert "--force" in result.stderr


@pytest.mark.parametrize(
    ("pipeline", "says"),
    [
        ("flags: [--dry]", "pipeline.flags"),
        ("flags: [--force --dry]", "pipeline.flags"),
        ("targets: [--dry]", "pipeline.targets[0] must be a stage name"),
        ("targets: train", "pipeline.targets"),
        ("pull: sometimes", "pipeline.pull"),
    ],
)
def test_bad_pipeline_keys_in_mlops_yaml_are_config_errors(
    clone: Path, pipeline: str, says: str
) -> None:
    (clone / "mlops.yaml").write_text(MLOPS + f"pipeline:\n  {pipeline}\n")
    result = cli("run", "--no-repro", "--base", "main", cwd=clone)
    assert result.code == 2, result.stdout + result.stderr
    assert "mlops.yaml" in result.stderr and says in result.stderr


def test_pull_with_no_repro_is_refused(clone: Path) -> None:
    result = cli("run", "--no-repro", "--pull", cwd=clone)
    assert result.code == 2, result.stdout + result.stderr
    assert "--no-repro runs nothing" in result.stderr


# --- pure ---------------------------------------------------------------------------------


def test_the_schema_allows_exactly_the_flags_the_code_passes_on() -> None:
    schema = json.loads(
        (Path(__file__).parents[1] / "mlops_ci" / "schema" / "mlops.schema.json").read_text()
    )
    flags = schema["properties"]["pipeline"]["properties"]["flags"]["items"]["enum"]
    assert tuple(flags) == REPRO_FLAGS


def test_targets_follow_the_end_of_options() -> None:
    options = ReproOptions(targets=("train",), pull=True, flags=("--force",))
    assert options.args() == ["--pull", "--force", "--", "train"]
    assert ReproOptions().args() == []
