"""What dvc.yaml already says about the model (issue 7, section 5): DVC 3's `artifacts:`, no
mlops.yaml at all, and a `model.path` that nothing produces.

Real git and real dvc in temporary repositories, laid out as DVC's documentation teaches: a
train stage that writes `models/churn.pkl`, an evaluate stage that writes `metrics.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import cli, dvc, git, new_dvc_repo
from mlops_ci.card import split_front_matter
from mlops_ci.dvc_yaml import is_produced, parse_dvc_yaml
from mlops_ci.errors import ConfigError

PY = sys.executable
TRAIN = (
    "import os\nos.makedirs('models', exist_ok=True)\n"
    "open('models/churn.pkl', 'w').write('model ' + open('data.csv').read())\n"
)
EVALUATE = (
    "import json\nscore = float(open('data.csv').read())\n"
    "json.dump({'acc': score}, open('metrics.json', 'w'))\n"
)
STAGES = f"""\
stages:
  train:
    cmd: {PY} train.py
    deps: [train.py, data.csv]
    outs: [models/churn.pkl]
  evaluate:
    cmd: {PY} evaluate.py
    deps: [evaluate.py, models/churn.pkl]
    metrics:
      - metrics.json:
          cache: false
"""
ONE_MODEL = STAGES + """\
artifacts:
  churn:
    path: models/churn.pkl
    type: model
    desc: Predicts which customers will leave next month.
    labels: [tabular, churn-prediction]
    meta: {owner: growth}
  churn-data:
    path: data.csv
    type: dataset
"""
GATES = "gates:\n  - metric: acc\n    min: 0.5\n"


def make_project(root: Path, dvc_yaml: str, mlops: str | None = GATES) -> Path:
    """A git + DVC repository with the pipeline reproduced and committed on main."""
    new_dvc_repo(root)
    (root / "dvc.yaml").write_text(dvc_yaml)
    if mlops is not None:
        (root / "mlops.yaml").write_text(mlops)
    (root / ".gitignore").write_text(".mlops/\n")
    (root / "data.csv").write_text("0.9")
    (root / "train.py").write_text(TRAIN)
    (root / "evaluate.py").write_text(EVALUATE)
    dvc("repro", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    return root


def report(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / ".mlops" / "report.json").read_text())


def card(root: Path) -> tuple[dict, str]:  # type: ignore[type-arg]
    return split_front_matter((root / ".mlops" / "model-card.md").read_text())


def test_one_model_artifact_names_the_model_and_fills_the_card(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo", ONE_MODEL)
    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    data = report(root)
    assert data["model"]["name"] == "churn"
    assert data["model"]["path"] == "models/churn.pkl"
    assert data["card"]["description"] == "Predicts which customers will leave next month."
    assert data["card"]["tags"] == ["tabular", "churn-prediction"]
    # the model is the model, not training data
    assert data["lineage"]["model"]["path"] == "models/churn.pkl"
    assert "models/churn.pkl" not in [d["path"] for d in data["lineage"]["data"]]
    meta, body = card(root)
    assert meta["tags"] == ["tabular", "churn-prediction", "mlops-ci"]
    assert meta["model-index"][0]["name"] == "churn"
    assert body.startswith("# Model card for churn\n")
    assert "Predicts which customers will leave next month." in body
    assert "Model file:** `models/churn.pkl`" in body


def test_mlops_yaml_wins_over_the_artifact(tmp_path: Path) -> None:
    mlops = "card:\n  description: Written in mlops.yaml.\n  tags: [mine]\n" + GATES
    root = make_project(tmp_path / "repo", ONE_MODEL, mlops)
    assert cli("run", "--no-repro", cwd=root).code == 0
    data = report(root)
    assert data["card"]["description"] == "Written in mlops.yaml."
    assert data["card"]["tags"] == ["mine"]
    assert data["model"]["name"] == "churn"


def test_several_model_artifacts_need_a_name(tmp_path: Path) -> None:
    two = ONE_MODEL + "  churn-v2:\n    path: models/churn.pkl\n    type: model\n"
    root = make_project(tmp_path / "repo", two)
    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 2, result.stdout + result.stderr
    assert "dvc.yaml declares 2 artifacts of `type: model` ('churn', 'churn-v2')" in result.stderr
    assert "model: {name: churn}" in result.stderr
    assert "Traceback" not in result.stderr
    (root / "mlops.yaml").write_text("model: {name: churn-v2}\n" + GATES)
    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 0, result.stderr
    assert report(root)["model"] == {
        "name": "churn-v2", "path": "models/churn.pkl", "task": "binary-classification",
        "library": "sklearn",
    }
    assert report(root)["card"]["description"] == ""  # churn-v2 has no desc


def test_no_mlops_yaml_works_with_the_defaults(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo", ONE_MODEL, mlops=None)
    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    data = report(root)
    assert data["gates"] == []
    assert data["verdict"]["status"] == "pass"
    assert data["verdict"]["summary"] == "No gates are declared in mlops.yaml; nothing was checked."
    assert data["model"]["name"] == "churn"
    assert data["metrics"][0]["name"] == "acc"
    hints = [line for line in result.stderr.splitlines() if "gates" in line]
    assert hints == [
        "mlops-ci: no mlops.yaml, so no gates were checked; to add gates, write mlops.yaml "
        "with, e.g., `gates: [{metric: acc, min: 0.9}]` (see docs/configuration.md)."
    ]
    assert "no gates are declared" in (root / ".mlops" / "report.md").read_text()


def test_no_mlops_yaml_and_no_artifact(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo", STAGES, mlops=None)
    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 0, result.stdout + result.stderr
    assert report(root)["model"]["name"] == "repo"  # the repository's directory
    _, body = card(root)
    assert "Model file:** _Not declared: add `model.path` to mlops.yaml" in body


def test_a_model_path_nothing_produces_is_a_configuration_error(tmp_path: Path) -> None:
    mlops = "model: {name: churn, path: model.pkl}\n" + GATES
    root = make_project(tmp_path / "repo", STAGES, mlops)
    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 2, result.stdout + result.stderr
    assert (
        "mlops.yaml, line 1: model.path is 'model.pkl', which no stage in dvc.yaml produces and "
        "no artifact names. Outputs that exist: models/churn.pkl, metrics.json."
    ) in result.stderr
    assert not (root / ".mlops").exists()


def test_a_model_path_inside_an_output_directory_is_produced(tmp_path: Path) -> None:
    mlops = "model: {name: churn, path: models/churn.pkl}\n" + GATES
    root = make_project(tmp_path / "repo", STAGES.replace("outs: [models/churn.pkl]",
                                                          "outs: [models]"), mlops)
    assert cli("run", "--no-repro", cwd=root).code == 0


def test_a_model_path_a_subdirectory_pipeline_may_produce_is_not_refused(tmp_path: Path) -> None:
    # DVC reads every dvc.yaml in the repository; only the root's is parsed here, so a model
    # that a subdirectory's pipeline could write is given the benefit of the doubt
    mlops = "model: {name: churn, path: serving/model.pkl}\n" + GATES
    root = make_project(tmp_path / "repo", STAGES, mlops)
    (root / "serving").mkdir()
    (root / "serving" / "dvc.yaml").write_text("stages: {}\n")
    assert cli("run", "--no-repro", cwd=root).code == 0


def test_a_bad_artifact_name_is_refused(tmp_path: Path) -> None:
    bad = STAGES + "artifacts:\n  -churn:\n    path: models/churn.pkl\n    type: model\n"
    root = make_project(tmp_path / "repo", STAGES)
    (root / "dvc.yaml").write_text(bad)
    result = cli("run", "--no-repro", cwd=root)
    assert result.code == 2
    assert "dvc.yaml, line 13: artifact name '-churn' is not one DVC accepts" in result.stderr


# --- reading dvc.yaml (pure) ------------------------------------------------------------------


def test_parse_stages_outs_and_artifacts() -> None:
    parsed = parse_dvc_yaml(ONE_MODEL)
    assert [s.name for s in parsed.stages] == ["train", "evaluate"]
    assert parsed.stages[0].cmd == (f"{PY} train.py",)
    assert parsed.stages[1].metrics == ("metrics.json",)
    assert parsed.outputs() == ("models/churn.pkl", "metrics.json")
    (model,) = parsed.models()
    assert (model.name, model.path, model.labels) == (
        "churn", "models/churn.pkl", ("tabular", "churn-prediction")
    )
    assert model.meta == {"owner": "growth"}


def test_parse_foreach_stage_keeps_its_templated_outs() -> None:
    text = (
        "stages:\n  train:\n    foreach: [a, b]\n    do:\n      cmd: train ${item}\n"
        "      outs:\n        - models/${item}.pkl\n"
    )
    (stage,) = parse_dvc_yaml(text).stages
    assert stage.templated and stage.outs == ("models/${item}.pkl",)
    assert is_produced("models/a.pkl", stage.outs)
    assert not is_produced("models/a.txt", stage.outs)


def test_is_produced() -> None:
    assert is_produced("models/churn.pkl", ("models",))
    assert is_produced("./models/churn.pkl", ("models/",))
    assert not is_produced("models2/churn.pkl", ("models",))
    assert not is_produced("model.pkl", ("models/model.pkl",))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("artifacts:\n  m:\n    type: model\n", "artifacts.m has no path"),
        ("artifacts:\n  m:\n    path: /etc/passwd\n", "artifacts.m.path is '/etc/passwd'"),
        ("artifacts:\n  m:\n    path: ../x.pkl\n", "write a path relative to the repository"),
        ("artifacts:\n  m:\n    path: x\n    labels: tabular\n", "m.labels is not a list"),
        ("artifacts: [m]\n", "artifacts is not a mapping of names"),
        ("stages:\n  s:\n    outs: model.pkl\n", "stages.s.outs is not a list"),
        ("a: &a [1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
            f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}, *{'a' if i == 0 else f'b{i - 1}'}]\n"
            for i in range(120)), "YAML alias"),
    ],
)
def test_untrusted_dvc_yaml_is_refused_with_the_line(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dvc_yaml(text)
    assert fragment in str(info.value)
    assert str(info.value).startswith("dvc.yaml")


def test_the_commenters_trusted_config_does_not_need_the_pipeline(tmp_path: Path) -> None:
    from mlops_ci.config import load_config

    (tmp_path / ".dvc").mkdir()
    (tmp_path / "mlops.yaml").write_text(GATES)  # no model: it is the report's
    config = load_config(tmp_path / "mlops.yaml", pipeline=False)
    assert config.gates[0].metric == "acc" and config.model.name == ""
    with pytest.raises(ConfigError, match="model.name is required"):
        load_config(tmp_path / "mlops.yaml")
