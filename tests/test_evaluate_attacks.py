"""A hostile review of `mlops-ci evaluate`: each test shows one defect it found, now fixed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import clean_env, new_dvc_repo
from mlops_ci.__main__ import main
from mlops_ci.errors import InputError


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.err


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def train(capsys: pytest.CaptureFixture[str], frame: pd.DataFrame, params: str, out: str) -> Path:
    frame.to_csv("train.csv", index=False)
    Path("params.yaml").write_text(params)
    code, err = cli(capsys, "train", "--data", "train.csv", "--target", "label",
                    "--out", out, "--params", "params.yaml")
    assert code == 0, err
    return Path(out)


def binary_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    label = ((x + rng.normal(size=n)) > -0.8).astype(int)  # about 3 positives in 4
    return pd.DataFrame({"x": x, "x2": rng.normal(size=n), "label": label})


FOREST = "model:\n  estimator: sklearn.ensemble.RandomForestClassifier\n  params: {n_estimators: 5, max_depth: 3}\n"  # noqa: E501


# 1. A decision function that happens to lie in [0, 1] is treated as a probability.
def test_decision_function_scores_get_no_log_loss_brier_or_calibration(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # RidgeClassifier has decision_function and no predict_proba; heavy regularisation keeps
    # every decision value near the intercept (about 0.5 with 3 positives in 4): inside [0, 1]
    frame = binary_frame()
    model = train(capsys, frame, "model:\n  estimator: sklearn.linear_model.RidgeClassifier\n"
                  "  params: {alpha: 1000000.0}\n", "ridge.skops")
    frame.to_csv("test.csv", index=False)
    code, err = cli(capsys, "evaluate", "--model", model, "--data", "test.csv",
                    "--target", "label", "--no-progress", "--no-images")
    assert code == 0, err
    metrics = json.loads(Path("eval/metrics.json").read_text())
    # docs/evaluate.md: decision_function gives "ROC AUC and average precision, no log loss,
    # Brier or calibration, which need probabilities"
    assert "roc_auc" in metrics
    assert "log_loss" not in metrics and "brier" not in metrics
    assert not Path("eval/plots/calibration.json").exists()


# 2. Outputs may be the input (or each other): the test table is overwritten, exit 0.
def test_an_output_that_is_the_test_table_or_another_output_is_refused(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = binary_frame()
    model = train(capsys, frame, FOREST, "forest.skops")
    frame.to_csv("test.csv", index=False)
    before = Path("test.csv").read_bytes()
    code, _ = cli(capsys, "evaluate", "--model", model, "--data", "test.csv", "--target",
                  "label", "--no-progress", "--no-images", "--predictions", "test.csv")
    assert Path("test.csv").read_bytes() == before, "the test table was replaced by parquet"
    assert code == 2
    code, _ = cli(capsys, "evaluate", "--model", model, "--data", "test.csv", "--target",
                  "label", "--no-progress", "--no-images", "--predictions", "eval/metrics.json")
    assert code == 2, "metrics.json and the predictions are one file: one of them is lost"


# 3. A failure after the JSON files are written leaves new metrics beside old predictions.
def test_a_failure_while_moving_the_images_keeps_every_previous_output(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = binary_frame()
    model = train(capsys, frame, FOREST, "forest.skops")
    frame.to_csv("test.csv", index=False)
    args = ("evaluate", "--model", model, "--target", "label", "--no-progress")
    assert cli(capsys, *args, "--data", "test.csv")[0] == 0
    before = {p: p.read_bytes() for p in Path("eval").rglob("*") if p.is_file()}
    Path("eval/plots/roc.png").unlink()
    Path("eval/plots/roc.png").mkdir()  # an image cannot be moved into place
    del before[Path("eval/plots/roc.png")]
    frame.iloc[:150].to_csv("small.csv", index=False)
    code, err = cli(capsys, *args, "--data", "small.csv")
    assert code == 2, err
    # docs/evaluate.md: "A run that fails, at any row, leaves the previous outputs as they were"
    changed = sorted(str(p) for p, data in before.items() if p.read_bytes() != data)
    assert changed == [], f"a failed run changed {changed} but kept the old predictions"


# 4. pandas infers each CSV chunk's dtypes on its own: the verdict depends on --chunk-rows.
def test_text_labels_that_look_like_numbers_do_not_depend_on_the_chunk_size(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    n = 300
    label = np.array(["1", "2", "x"], dtype=object)[np.arange(n) % 3]
    x = np.where(label == "1", 0.0, np.where(label == "2", 5.0, 10.0)) + rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "label": label})
    model = train(capsys, frame, "model:\n  estimator: sklearn.linear_model.LogisticRegression\n",
                  "lr.skops")
    frame.sort_values("label", kind="stable").to_csv("test.csv", index=False)  # "x" rows last
    results = {}
    for chunk in (100_000, 50):
        code, err = cli(capsys, "evaluate", "--model", model, "--data", "test.csv",
                        "--target", "label", "--no-progress", "--no-images", "--chunk-rows",
                        str(chunk), "--metrics", f"m{chunk}/metrics.json", "--predictions",
                        f"m{chunk}/p.parquet", "--plots", f"m{chunk}/plots")
        results[chunk] = (code, err)
    # docs/evaluate.md: --chunk-rows "The results do not depend on it."
    assert results[50][0] == results[100_000][0] == 0, results[50][1]


def test_a_slice_column_of_numbers_then_text_does_not_depend_on_the_chunk_size(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = binary_frame()
    model = train(capsys, frame, FOREST, "forest.skops")
    frame["shop"] = np.array([101] * 200 + ["A7"] * 200, dtype=object)  # store codes
    frame.to_csv("test.csv", index=False)
    codes = {}
    for chunk in (100_000, 100):
        codes[chunk], err = cli(
            capsys, "evaluate", "--model", model, "--data", "test.csv", "--target", "label",
            "--slice", "shop", "--no-progress", "--no-images", "--chunk-rows", str(chunk),
            "--metrics", f"m{chunk}/metrics.json", "--predictions", f"m{chunk}/p.parquet",
            "--plots", f"m{chunk}/plots",
        )
    assert codes == {100_000: 0, 100: 0}, err


# 5. read_meta accepts metadata that does not hold together (docs say it refuses it).
def test_read_meta_refuses_metadata_that_does_not_hold_together(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlops_ci.evaluation.predictions import read_meta

    meta = {"format": 1, "task": "binary", "labels": [0, 1, 2, 2], "pos_label": "zz",
            "target": "label", "rows": 2, "slices": [], "id": None,
            "metrics_file": "../../../etc/passwd", "model": "/etc/shadow", "data": None}
    table = pa.table({"row": ["a", "b"], "y_true": [5, 6], "y_pred": [7, 8]})
    path = tmp_path / "lie.parquet"
    pq.write_table(table.replace_schema_metadata({"mlops-ci": json.dumps(meta)}), path)
    # a binary task with four labels (one twice), a positive label that is none of them, a
    # text `row` column, targets that are no label, paths outside the repository
    with pytest.raises(InputError):
        read_meta(path)


# 6. A cached plot checked out as a symlink into DVC's cache: the cache object is rewritten.
def test_evaluate_does_not_write_through_a_symlink_into_the_dvc_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = new_dvc_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    env = clean_env()

    def dvc(*args: str) -> None:
        subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env, check=True,
                       capture_output=True)

    dvc("config", "cache.type", "symlink")
    frame = binary_frame()
    model = train(capsys, frame, FOREST, "forest.skops")
    frame.to_csv("test.csv", index=False)
    args = ("evaluate", "--model", model, "--target", "label", "--no-progress", "--no-images")
    assert cli(capsys, *args, "--data", "test.csv")[0] == 0
    dvc("add", "eval/plots/roc.json")  # as `dvc checkout` leaves a cached plot: a symlink
    assert Path("eval/plots/roc.json").is_symlink()
    cached = Path(os.path.realpath("eval/plots/roc.json"))
    frame.iloc[:150].to_csv("small.csv", index=False)
    assert cli(capsys, *args, "--data", "small.csv")[0] == 0  # the stage's command, by hand
    digest = hashlib.md5(cached.read_bytes()).hexdigest()  # DVC names the object by it
    assert cached.parent.name + cached.name == digest, "DVC's cache object was overwritten"


# 8. install_plot_templates: `.dvc/plots` that is a file is an uncaught FileExistsError.
def test_install_plot_templates_refuses_a_plots_file_with_an_input_error(tmp_path: Path) -> None:
    from mlops_ci.dvc_plot_templates import install_plot_templates

    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "plots").write_text("not a directory")
    with pytest.raises(InputError):
        install_plot_templates(tmp_path)


# 9. Float sums folded chunk by chunk: metrics.json's bytes depend on --chunk-rows.
def test_log_loss_and_calibration_do_not_depend_on_the_chunk_size(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = binary_frame()
    model = train(capsys, frame, "model:\n  estimator: sklearn.linear_model.LogisticRegression\n",
                  "lr.skops")
    frame.to_csv("test.csv", index=False)
    found = {}
    for chunk in (100_000, 7):
        code, err = cli(capsys, "evaluate", "--model", model, "--data", "test.csv", "--target",
                        "label", "--no-progress", "--no-images", "--chunk-rows", str(chunk),
                        "--metrics", f"m{chunk}/metrics.json", "--predictions",
                        f"m{chunk}/p.parquet", "--plots", f"m{chunk}/plots")
        assert code == 0, err
        found[chunk] = (Path(f"m{chunk}/metrics.json").read_text(),
                        Path(f"m{chunk}/plots/calibration.json").read_text())
    # docs/evaluate.md, --chunk-rows: "The results do not depend on it."
    assert found[7] == found[100_000]


# 10. A parquet test table with a feature column twice: exit 3 (an internal error), not 2.
def test_a_parquet_table_with_a_duplicated_feature_column_is_refused_with_exit_2(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = binary_frame()
    model = train(capsys, frame, FOREST, "forest.skops")
    table = pa.Table.from_arrays(
        [pa.array(frame.x), pa.array(frame.x2), pa.array(frame.x2), pa.array(frame.label)],
        names=["x", "x2", "x2", "label"],
    )
    pq.write_table(table, "test.parquet")
    code, err = cli(capsys, "evaluate", "--model", model, "--data", "test.parquet",
                    "--target", "label", "--no-progress", "--no-images")
    assert code == 2, err


def test_a_parquet_table_with_a_duplicated_slice_column_is_refused_with_exit_2(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = binary_frame()
    model = train(capsys, frame, FOREST, "forest.skops")
    group = pa.array(frame.label % 2)
    table = pa.Table.from_arrays(
        [pa.array(frame.x), pa.array(frame.x2), pa.array(frame.label), group, group],
        names=["x", "x2", "label", "g", "g"],
    )
    pq.write_table(table, "test.parquet")
    code, err = cli(capsys, "evaluate", "--model", model, "--data", "test.parquet",
                    "--target", "label", "--slice", "g", "--no-progress", "--no-images")
    assert code == 2, err


# 11. Huge finite targets: the error histogram's image raises LinAlgError, exit 3.
def test_huge_finite_regression_targets_are_not_an_internal_error(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 50
    x = np.arange(n, dtype=float)
    pd.DataFrame({"x": x, "label": np.full(n, 3.0)}).to_csv("train.csv", index=False)
    Path("params.yaml").write_text("model:\n  estimator: sklearn.dummy.DummyRegressor\n")
    code, err = cli(capsys, "train", "--data", "train.csv", "--target", "label",
                    "--out", "dummy.skops", "--params", "params.yaml")
    assert code == 0, err
    # finite values (the docs refuse only missing and infinite ones), near float's range
    pd.DataFrame({"x": x, "label": np.where(x % 2 == 0, 1e308, -1e308)}).to_csv(
        "test.csv", index=False
    )
    code, err = cli(capsys, "evaluate", "--model", "dummy.skops", "--data", "test.csv",
                    "--target", "label", "--no-progress")
    assert code in (0, 2), err


# 12. docs/evaluation.md: `{age_group: "40"}` names the slice of 40, but not when the column
# reads as floats (one missing value in a CSV column makes 40 into 40.0).
def test_a_slice_named_as_text_matches_a_float_column(tmp_path: Path) -> None:
    from mlops_ci.evaluation.stream import evaluate_file

    path = tmp_path / "p.csv"
    pd.DataFrame({"y": [0, 1, 1, 0], "p": [0, 1, 0, 0], "age_group": [40, 40, None, 50]}).to_csv(
        path, index=False
    )
    result = evaluate_file(path, target="y", prediction="p", task="binary", labels=[0, 1],
                           slices=["age_group"])
    assert result.slice_metrics({"age_group": 40})["rows"] == 2  # passes: 40 == 40.0
    assert result.slice_metrics({"age_group": "40"})["rows"] == 2  # text: refused


def test_install_plot_templates_refuses_a_dangling_plots_link(tmp_path: Path) -> None:
    from mlops_ci.dvc_plot_templates import install_plot_templates

    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "plots").symlink_to("gone")
    with pytest.raises(InputError, match="not a directory"):
        install_plot_templates(tmp_path)
    assert not (tmp_path / ".dvc" / "gone").exists()


def test_the_gates_slice_masks_match_as_evaluate_slices_do() -> None:
    from mlops_ci.config_evaluation import EvaluationConfig
    from mlops_ci.evaluation.evidence_rows import Side
    from mlops_ci.evaluation.predictions import PredictionsMeta
    from mlops_ci.evaluation.slices import same_value

    assert same_value(40.0, "40") and same_value(40.0, 40) and same_value("40", 40)
    assert not same_value(None, "None") and not same_value(40.0, "41")
    assert same_value("female", "female") and not same_value("female", "male")
    meta = PredictionsMeta(task="binary", target="y", labels=(0, 1), pos_label=1,
                           slices=("age_group",))
    keys = [(("age_group", "40"),), (("age_group", 40),)]
    side = Side(meta, EvaluationConfig(), keys, bootstrap=False)
    chunk = {"y_true": np.array([0, 1, 1, 0]), "y_pred": np.array([0, 1, 0, 0]),
             "slice:age_group": np.array([40.0, 40.0, np.nan, 50.0])}
    masks = side.masks(chunk)
    for key in keys:
        assert masks[key].tolist() == [True, True, False, False]


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (("--predictions", "forest.skops"), "the model"),
        (("--metrics", "forest.skops"), "the model"),
        (("--predictions", "eval/evaluation.json"), "evaluation.json"),
        (("--predictions", "eval/plots/roc.json"), "roc.json"),
        (("--metrics", "eval/plots/roc.png"), "roc.png"),
        (("--predictions", "eval/plots"), "--plots"),
        (("--plots", "."), "test.csv"),  # the plot files would go beside the test table...
    ],
)
def test_every_output_that_is_an_input_or_another_output_is_refused_before_writing(
    work: Path, capsys: pytest.CaptureFixture[str], flags: tuple[str, str], named: str
) -> None:
    frame = binary_frame()
    model = train(capsys, frame, FOREST, "forest.skops")
    frame.to_csv("test.csv", index=False)
    if flags[0] == "--plots":  # ...and one of them is the test table
        Path("roc.json").write_text("[]")
        flags = (*flags, "--data", "roc.json")
    else:
        flags = (*flags, "--data", "test.csv")
    before = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    code, err = cli(capsys, "evaluate", "--model", model, "--target", "label",
                    "--no-progress", *flags)
    assert code == 2, err
    assert "same file" in err and (named in err or flags[1] in err), err
    after = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    assert after == before


def test_a_csv_table_with_a_duplicated_column_is_refused_naming_it(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frame = binary_frame()
    model = train(capsys, frame, FOREST, "forest.skops")
    text = frame[["x", "x2", "label"]].to_csv(index=False)
    lines = text.splitlines()
    rows = [f"{line},{line.split(',')[1]}" for line in lines[1:]]
    Path("test.csv").write_text("\n".join(["x,x2,label,x2", *rows]) + "\n")  # x2 twice
    code, err = cli(capsys, "evaluate", "--model", model, "--data", "test.csv",
                    "--target", "label", "--no-progress", "--no-images")
    assert code == 2, err
    assert "'x2'" in err and "more than one column" in err
    assert not Path("eval").exists()


GOOD_META = {"format": 1, "task": "binary", "labels": [0, 1], "pos_label": 1, "target": "label",
             "rows": 2, "slices": [], "id": None, "metrics_file": "eval/metrics.json",
             "model": "model.skops", "data": "data/test.csv"}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"labels": [0, 1, 2]}, "binary, yet it names 3 labels"),
        ({"task": "multiclass", "labels": [0, 1, 1], "pos_label": None}, "a label twice"),
        ({"pos_label": "zz"}, "pos_label is not one of its labels"),
        ({"task": "regression", "pos_label": None}, "regression, yet it names class labels"),
        ({"metrics_file": "../../etc/passwd"}, "its metrics_file '../../etc/passwd'"),
        ({"model": "/etc/shadow"}, "its model '/etc/shadow'"),
        ({"data": "C:\\data\\test.csv"}, "its data"),
        ({"data": "data\\..\\..\\x.csv"}, "its data"),
        ({"row": ["a", "b"]}, "its row column holds string"),
    ],
)
def test_read_meta_names_each_way_the_metadata_does_not_hold_together(
    tmp_path: Path, change: dict[str, object], named: str
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlops_ci.evaluation.predictions import read_meta

    meta = {**GOOD_META, **change}
    rows = meta.pop("row", [0, 1])
    table = pa.table({"row": rows, "y_true": [0, 1], "y_pred": [1, 1]})
    path = tmp_path / "p.parquet"
    pq.write_table(table.replace_schema_metadata({"mlops-ci": json.dumps(meta)}), path)
    with pytest.raises(InputError, match="not a predictions file") as caught:
        read_meta(path)
    assert named in str(caught.value)
    good = tmp_path / "good.parquet"
    pq.write_table(table.replace_schema_metadata({"mlops-ci": json.dumps(GOOD_META)}), good)
    if change.keys() != {"row"}:
        assert read_meta(good).labels == (0, 1)


def test_the_regression_accumulator_names_the_row_whose_square_overflows() -> None:
    from mlops_ci.evaluation.metrics import RegressionAccumulator

    acc = RegressionAccumulator()
    acc.update(np.array([1.0, 2.0]), np.array([1.5, 2.5]))
    with pytest.raises(InputError, match=r"too large \(row 4: y_true 1e\+300.*rescale"):
        acc.update(np.array([3.0, 1e300]), np.array([3.0, 2.0]))
    assert acc.rows == 2 and acc.result()["mae"] == 0.5  # the refused chunk left no trace


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_float_sum_is_the_same_bits_at_every_chunk_size(task: str) -> None:
    from mlops_ci.evaluation.curves import plots
    from mlops_ci.evaluation.metrics import accumulator

    rng = np.random.default_rng(3)
    n = 10_000  # more than two blocks of rows
    labels = None if task == "regression" else ([0, 1] if task == "binary" else [0, 1, 2])
    if task == "regression":
        y, pred, score = rng.normal(size=n) * 1e3, rng.normal(size=n) * 1e3, None
    else:
        k = len(labels or ())
        y, pred = rng.integers(0, k, n), rng.integers(0, k, n)
        proba = rng.dirichlet(np.ones(k), size=n)
        score = proba[:, 1] if task == "binary" else proba
    found = set()
    for chunk in (n, 4096, 1000, 7, 1):
        acc = accumulator(task, labels=labels)
        for start in range(0, n, chunk):
            part = slice(start, start + chunk)
            acc.update(y[part], pred[part], None if score is None else score[part])
        found.add(json.dumps([acc.result(), plots(acc)], default=str))
    assert len(found) == 1
