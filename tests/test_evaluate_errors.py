"""`mlops-ci evaluate` on bad data and bad models: one `mlops-ci: error:` line, exit code 2,
no traceback, and no output left behind (nor the previous outputs damaged)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression

from mlops_ci.__main__ import main
from mlops_ci.models import save_model

FOREST = "model:\n  estimator: sklearn.ensemble.RandomForestClassifier\n  params: {n_estimators: 6, max_depth: 3}\n"  # noqa: E501
RIDGE = "model:\n  estimator: sklearn.linear_model.Ridge\n"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A binary classifier and a regressor trained by `mlops-ci train`, with their sidecars."""
    root = tmp_path_factory.mktemp("models")
    cancer = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    cancer["sex"] = np.where(np.arange(len(cancer)) % 2, "f", "m")
    diabetes = load_diabetes(as_frame=True).frame
    made = {}
    for name, frame, params, target in (
        ("binary", cancer.iloc[200:], FOREST, "label"),
        ("regression", diabetes.iloc[100:], RIDGE, "target"),
    ):
        frame.to_csv(root / f"{name}.csv", index=False)
        (root / f"{name}.yaml").write_text(params)
        code = main(["train", "--data", str(root / f"{name}.csv"), "--target", target,
                     "--drop", "sex", "--out",
                     str(root / f"{name}.skops"), "--params", str(root / f"{name}.yaml")])
        assert code == 0
        made[name] = root / f"{name}.skops"
    return made


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    cancer = load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})
    cancer["sex"] = np.where(np.arange(len(cancer)) % 2, "f", "m")
    cancer.iloc[:60].to_csv(tmp_path / "test.csv", index=False)
    diabetes = load_diabetes(as_frame=True).frame
    diabetes.iloc[:60].to_csv(tmp_path / "reg.csv", index=False)
    return tmp_path


def refused(capsys: pytest.CaptureFixture[str], work: Path, model: Path, *args: str) -> str:
    code, err = run(capsys, "evaluate", "--model", model, "--no-progress",
                    "--chunk-rows", "16", "--replicates", "100", *args)
    assert code == 2, err
    assert err.startswith("mlops-ci: error: ") and "Traceback" not in err
    assert not (work / "eval").exists() or not any(
        p.is_file() for p in (work / "eval").rglob("*")
    ), sorted(map(str, (work / "eval").rglob("*")))
    assert not [p for p in work.rglob("*") if p.name.startswith(".") and "tmp" in p.name]
    return err


def edit(work: Path, name: str, change: object) -> None:
    frame = pd.read_csv(work / name)
    change(frame)  # type: ignore[operator]
    frame.to_csv(work / name, index=False)


def test_a_missing_target_column_names_the_columns_and_the_closest(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    err = refused(capsys, work, models["binary"], "--data", "test.csv", "--target", "Label")
    assert "test.csv has no target column 'Label'" in err and "Did you mean 'label'?" in err


def test_a_missing_value_in_the_target_names_its_row(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    edit(work, "test.csv", lambda f: f.__setitem__("label", f["label"].where(f.index != 40)))
    err = refused(capsys, work, models["binary"], "--data", "test.csv", "--target", "label")
    assert "Column 'label' has a missing value (NaN) on row 41" in err


def test_text_in_a_regression_target_names_the_row_and_the_value(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    def text(frame: pd.DataFrame) -> None:
        frame["target"] = frame["target"].astype(object)
        frame.loc[20, "target"] = "high"

    edit(work, "reg.csv", text)
    err = refused(capsys, work, models["regression"], "--data", "reg.csv", "--target", "target")
    assert "Column 'target' must hold numbers, but row 21 holds 'high'" in err


def test_text_in_a_feature_column_is_the_models_refusal_with_the_rows(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    def text(frame: pd.DataFrame) -> None:
        frame["mean radius"] = frame["mean radius"].astype(object)
        frame.loc[20, "mean radius"] = "wide"

    edit(work, "test.csv", text)
    err = refused(capsys, work, models["binary"], "--data", "test.csv", "--target", "label")
    assert "The model cannot score rows 17-32 of test.csv: ValueError" in err
    assert "'wide'. These feature columns hold text in those rows: 'mean radius'." in err


def test_empty_and_header_only_files(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    (work / "empty.csv").write_text("")
    err = refused(capsys, work, models["binary"], "--data", "empty.csv", "--target", "label")
    assert "empty.csv is empty" in err
    header = (work / "test.csv").read_text().splitlines()[0]
    (work / "header.csv").write_text(header + "\n")
    err = refused(capsys, work, models["binary"], "--data", "header.csv", "--target", "label")
    assert "header.csv has a header but no rows" in err
    pd.read_csv(work / "test.csv").iloc[:0].to_parquet(work / "none.parquet")
    err = refused(capsys, work, models["binary"], "--data", "none.parquet", "--target", "label")
    assert "none.parquet has a header but no rows" in err
    err = refused(capsys, work, models["binary"], "--data", "nowhere.csv", "--target", "label")
    assert "The test data nowhere.csv does not exist" in err


def test_a_label_the_model_never_learned_is_refused_with_its_row(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    edit(work, "test.csv", lambda f: f.__setitem__("label", f["label"].where(f.index != 33, 2)))
    err = refused(capsys, work, models["binary"], "--data", "test.csv", "--target", "label")
    assert "holds the label 2 on row 34, which is not among the declared labels (0, 1)" in err
    # a label that is a number but none of the classes is not rounded into one
    edit(work, "test.csv", lambda f: f.__setitem__("label", f["label"].where(f.index != 33, 0.5)))
    err = refused(capsys, work, models["binary"], "--data", "test.csv", "--target", "label")
    assert "holds the label 0.5 on row 34" in err


def test_a_slice_or_id_column_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    err = refused(capsys, work, models["binary"], "--data", "test.csv", "--target", "label",
                  "--slice", "sex,gender")
    assert "test.csv has no slice column 'gender'" in err
    err = refused(capsys, work, models["binary"], "--data", "test.csv", "--target", "label",
                  "--id", "customer")
    assert "test.csv has no id column 'customer'" in err


def test_a_feature_column_the_model_needs_is_missing(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    edit(work, "test.csv", lambda f: f.pop("mean radius"))
    err = refused(capsys, work, models["binary"], "--data", "test.csv", "--target", "label")
    assert "test.csv lacks 1 column(s) the model was trained on: 'mean radius'" in err


def test_models_that_are_missing_or_not_models(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    base = ("--data", "test.csv", "--target", "label")
    err = refused(capsys, work, work / "nowhere.skops", *base)
    assert "Cannot read the model file" in err and "nowhere.skops" in err
    (work / "notes.skops").write_text("not a model\n")
    err = refused(capsys, work, work / "notes.skops", *base)
    assert "is neither a skops file nor a pickle" in err
    save_model({"weights": [1, 2]}, work / "dict.skops")
    err = refused(capsys, work, work / "dict.skops", *base)
    assert "dict.skops is not a model: it loads as a dict, which has no predict method" in err
    bare = work / "bare"
    bare.mkdir()
    (bare / "model.skops").write_bytes(models["binary"].read_bytes())  # no sidecar beside it
    err = refused(capsys, work, bare / "model.skops", *base)
    assert "no training sidecar" in err and "sklearn.tree._tree.Tree" in err
    stale = work / "stale"
    stale.mkdir()
    (stale / "model.skops").write_bytes(models["regression"].read_bytes())
    (stale / "model.train.json").write_bytes(
        models["binary"].with_name("binary.train.json").read_bytes()
    )
    err = refused(capsys, work, stale / "model.skops", *base)
    assert "describes another model file" in err


def test_a_pickle_needs_allow_pickle(
    capsys: pytest.CaptureFixture[str], work: Path
) -> None:
    frame = pd.read_csv(work / "test.csv")
    model = LogisticRegression(max_iter=2000).fit(frame.drop(columns=["label", "sex"]),
                                                  frame["label"])
    with (work / "model.pkl").open("wb") as handle:
        pickle.dump(model, handle)
    err = refused(capsys, work, work / "model.pkl", "--data", "test.csv", "--target", "label")
    assert "is a pickle" in err and "--allow-pickle" in err
    code, err = run(capsys, "evaluate", "--model", work / "model.pkl", "--data", "test.csv",
                    "--target", "label", "--allow-pickle", "--no-progress", "--replicates", "100")
    assert code == 0, err


def test_bad_settings(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    base = ("--data", "test.csv", "--target", "label")
    err = refused(capsys, work, models["binary"], *base, "--replicates", "10")
    assert "replicates is 10" in err
    err = refused(capsys, work, models["binary"], *base, "--confidence", "95")
    assert "The interval level must be between 0 and 1" in err
    err = refused(capsys, work, models["binary"], *base, "--chunk-rows", "0")
    assert "--chunk-rows must be at least 1" in err
    err = refused(capsys, work, models["binary"], *base, "--metrics", "eval/evaluation.json")
    assert "is where evaluation.json goes" in err


def test_a_failure_late_in_the_file_keeps_the_previous_outputs_whole(
    capsys: pytest.CaptureFixture[str], work: Path, models: dict[str, Path]
) -> None:
    args = ("evaluate", "--model", models["binary"], "--data", "test.csv", "--target", "label",
            "--no-progress", "--chunk-rows", "16", "--replicates", "100")
    code, err = run(capsys, *args)
    assert code == 0, err
    before = {p: p.read_bytes() for p in (work / "eval").rglob("*") if p.is_file()}
    assert len(before) >= 4
    edit(work, "test.csv", lambda f: f.__setitem__("label", f["label"].where(f.index != 55)))
    code, err = run(capsys, *args)
    assert code == 2 and "row 56" in err
    after = {p: p.read_bytes() for p in (work / "eval").rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in work.rglob("*") if p.name.startswith(".") and "tmp" in p.name]
