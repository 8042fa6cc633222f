"""`mlops-ci run` end to end: real git and real dvc on the scaffolded example project."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import FirstRun, cli, git, tree_state
from mlops_ci.report import SCHEMA_VERSION


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_init_then_run_passes_and_writes_report_and_card(first_run: FirstRun):
    result, root = first_run.result, first_run.template
    assert result.code == 0, result.stderr
    report = load(root / ".mlops" / "report.json")
    assert report["schema_version"] == SCHEMA_VERSION
    assert report["verdict"]["status"] == "pass"
    # The first commit has no results: every metric is new, only absolute gates judge it.
    assert {m["change"] for m in report["metrics"]} == {"new"}
    floor = next(g for g in report["gates"] if g["rule"] == "min")
    assert (floor["metric"], floor["verdict"]) == ("roc_auc", "pass")
    assert report["lineage"]["model"]["path"] == "model.pkl"
    assert re.fullmatch(r"[0-9a-f]{32}", report["lineage"]["model"]["md5"])
    assert (root / ".mlops" / "model-card.md").read_text().startswith("---\n")
    assert "| Metric |" in (root / ".mlops" / "report.md").read_text()
    # The terminal shows the table and the verdict
    assert "roc_auc" in result.stdout and "Passed" in result.stdout


@pytest.fixture(scope="module")
def weaker_branch(first_run: FirstRun, tmp_path_factory: pytest.TempPathFactory):
    """A branch that lowers C to 0.01, run once: the model gets worse."""
    root = tmp_path_factory.mktemp("weaker") / "demo"
    shutil.copytree(first_run.template, root, symlinks=True)
    git("checkout", "--quiet", "-b", "weaker-model", cwd=root)
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("C: 1.0", "C: 0.01"))
    git("commit", "--quiet", "-am", "Lower C", cwd=root)
    result = cli("run", cwd=root)
    return root, result


def test_a_degrading_change_fails_the_gate_and_names_it(weaker_branch):
    root, result = weaker_branch
    assert result.code == 1, result.stderr
    report = load(root / ".mlops" / "report.json")
    assert report["verdict"]["status"] == "fail"
    assert report["base"]["ref"] == "main" and report["head"]["ref"] == "weaker-model"
    failed = [g for g in report["gates"] if g["verdict"] == "fail" and g["severity"] == "error"]
    assert len(failed) == 1
    (gate,) = failed
    assert (gate["metric"], gate["rule"], gate["threshold"]) == ("accuracy", "max_drop", 0.01)
    assert gate["base"] > gate["head"]
    assert gate["limit"] == pytest.approx(gate["base"] - 0.01)
    assert "accuracy fell by" in gate["explanation"]
    assert gate["line"] == 17  # where the gate stands in the scaffolded mlops.yaml
    # the param that caused it is reported
    assert [(p["name"], p["base"], p["head"]) for p in report["params"]] == [("train.C", 1.0, 0.01)]
    assert report["lineage"]["model"]["md5"] != report["lineage"]["base_model"]["md5"]
    assert "Failed" in result.stdout and "accuracy" in result.stdout


def test_a_metric_that_improves_is_shown_as_better(weaker_branch):
    root, _ = weaker_branch
    git("add", "--all", cwd=root)
    git("commit", "--quiet", "-m", "Record the weaker results", cwd=root)
    git("checkout", "--quiet", "main", cwd=root)
    # main's committed results against the weaker branch: the stronger model improves on it
    result = cli("run", "--no-repro", "--base", "weaker-model", "--out", "better", cwd=root)
    assert result.code == 0, result.stderr
    metrics = {m["name"]: m for m in load(root / "better" / "report.json")["metrics"]}
    assert metrics["accuracy"]["change"] == "better" and metrics["accuracy"]["delta"] > 0
    assert metrics["log_loss"]["change"] == "better" and metrics["log_loss"]["delta"] < 0
    assert "🟢 better" in (root / "better" / "report.md").read_text()


def test_diff_json_gate_and_card_compose(project: Path):
    result = cli("diff", "--format", "json", cwd=project)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["schema_version"] == SCHEMA_VERSION
    saved = project / "saved.json"
    saved.write_text(result.stdout)
    gate = cli("gate", "--report", str(saved), cwd=project)
    assert gate.code == 0, gate.stderr
    # tighten a gate in mlops.yaml; `gate` re-judges the saved metrics without recomputing them
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("min: 0.95", "min: 0.9999"))
    gate = cli("gate", "--report", str(saved), cwd=project)
    assert gate.code == 1
    assert load(saved)["verdict"]["status"] == "fail"
    card = cli("card", "--report", str(saved), "--output", "-", cwd=project)
    assert card.code == 0 and card.stdout.startswith("---\n")
    assert "## Quantitative analyses" in card.stdout


def test_diff_formats(project: Path):
    table = cli("diff", cwd=project)
    markdown = cli("diff", "--format", "md", cwd=project)
    assert table.code == markdown.code == 0
    assert "roc_auc" in table.stdout and "| Metric |" in markdown.stdout
    assert cli("diff", "--format", "xml", cwd=project).code == 2


# --- bad input: one clear sentence, exit code 2, no traceback, nothing in the work tree changed


def assert_clean_failure(result, *fragments: str) -> None:
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    # `dvc repro` streams its output first; the error is the last thing said, and said once
    assert result.stderr.count("mlops-ci: error: ") == 1, result.stderr
    message = result.stderr[result.stderr.index("mlops-ci: error: ") :]
    for fragment in fragments:
        assert fragment in message, message


def run_unchanged(root: Path, *args: str):
    """Run mlops-ci and check that it changed nothing in the work tree."""
    before = tree_state(root)
    result = cli(*args, cwd=root)
    assert tree_state(root) == before, "a failing run changed the work tree"
    return result


def test_no_mlops_yaml_runs_with_the_defaults(project: Path):
    (project / "mlops.yaml").unlink()
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 0, result.stderr
    assert "no mlops.yaml, so no gates were checked" in result.stderr
    report = json.loads((project / ".mlops" / "report.json").read_text())
    assert report["gates"] == [] and report["verdict"]["status"] == "pass"
    assert report["model"]["path"] == ""  # neither mlops.yaml nor an artifact names one


def test_yaml_syntax_error_names_the_line(project: Path):
    config = project / "mlops.yaml"
    lines = config.read_text().splitlines()
    lines[2] = "  name: [unclosed"
    config.write_text("\n".join(lines) + "\n")
    assert_clean_failure(run_unchanged(project, "run"), "mlops.yaml", "line", "YAML")


def test_unknown_key_suggests_the_closest(project: Path):
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("gates:", "gatse:"))
    assert_clean_failure(run_unchanged(project, "run"), "'gatse'", "did you mean 'gates'")


def test_wrong_type_names_key_and_value(project: Path):
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("max_drop: 0.01", "max_drop: lots"))
    assert_clean_failure(run_unchanged(project, "run"), "line 18", "max_drop", "'lots'")


def test_gate_on_a_metric_that_does_not_exist_lists_the_metrics(project: Path):
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("metric: f1", "metric: f2"))
    assert_clean_failure(
        run_unchanged(project, "run", "--no-repro"), "'f2'", "accuracy", "roc_auc", "log_loss"
    )


def test_missing_metrics_file(project: Path):
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("files: [metrics.json]", "files: [scores.json]"))
    assert_clean_failure(
        run_unchanged(project, "run", "--no-repro"), "scores.json", "does not exist"
    )


def test_metrics_file_that_is_not_json_or_yaml(project: Path):
    (project / "metrics.json").write_text('{"accuracy": 0.9,,,')
    assert_clean_failure(
        run_unchanged(project, "run", "--no-repro"), "metrics.json", "JSON or YAML"
    )


def test_non_numeric_metric_in_a_gate(project: Path):
    metrics = load(project / "metrics.json")
    metrics["accuracy"] = "excellent"
    (project / "metrics.json").write_text(json.dumps(metrics))
    assert_clean_failure(
        run_unchanged(project, "run", "--no-repro"), "accuracy", "'excellent'", "not a number"
    )


def test_not_a_git_repository(tmp_path: Path):
    assert_clean_failure(cli("run", cwd=tmp_path), "not inside a git repository")


def test_not_a_dvc_repository(tmp_path: Path):
    git("init", "--quiet", cwd=tmp_path)
    assert_clean_failure(cli("run", cwd=tmp_path), "not a DVC repository", "dvc init")


def test_base_revision_not_found(project: Path):
    assert_clean_failure(
        run_unchanged(project, "run", "--no-repro", "--base", "nope"),
        "'nope' or 'origin/nope' not found",
        "git fetch",
    )


def test_shallow_checkout_without_the_base_branch_says_to_fetch_it(project: Path, tmp_path):
    git("checkout", "--quiet", "-b", "feature", cwd=project)
    clone = tmp_path / "shallow"
    git(
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--branch",
        "feature",
        f"file://{project}",
        str(clone),
        cwd=tmp_path,
    )
    git("branch", "-D", "main", cwd=clone) if "main" in git("branch", cwd=clone) else None
    result = cli("diff", cwd=clone, env={"GITHUB_BASE_REF": "release"})
    assert_clean_failure(result, "'release'", "shallow", "fetch-depth: 0")


def test_dvc_repro_failure_names_the_stage_its_command_and_output(project: Path):
    train = project / "src" / "train.py"
    train.write_text(train.read_text() + '\nraise SystemExit("boom: the data look wrong")\n')
    result = cli("run", cwd=project)
    assert_clean_failure(result, "stage 'train'", "python src/train.py", "its output is above")
    # streamed as it ran, and not repeated as a tail in the message
    assert result.stderr.count("boom: the data look wrong") == 1
    assert result.stderr.index("boom") < result.stderr.index("mlops-ci: error: ")
    assert not (project / ".mlops").exists(), "a failed run must not write a report"


def test_debug_shows_the_traceback(tmp_path: Path):
    result = cli("--debug", "run", cwd=tmp_path)
    assert result.code != 0
    assert "Traceback" in result.stderr and "RepositoryError" in result.stderr
