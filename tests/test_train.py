"""`mlops-ci train`: real scikit-learn on small bundled data, run through the real entry point.

The entry point (``mlops_ci.__main__.main``) runs in-process, so each refusal is checked as a
user sees it: exit code 2 and one `mlops-ci: error:` line, no traceback. One test runs the
command as a stage of a real DVC pipeline under `dvc repro`.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.ensemble import RandomForestClassifier

from conftest import clean_env, git, new_dvc_repo
from mlops_ci.__main__ import main
from mlops_ci.config import load_config
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.evaluation import estimators
from mlops_ci.evaluation.estimators import check_name, inside
from mlops_ci.evaluation.train_info import read_train_info
from mlops_ci.models import load_model, skops_types

RF = """\
model:
  estimator: sklearn.ensemble.RandomForestClassifier
  params:
    n_estimators: 8
    max_depth: 4
"""
PIPELINE = """\
model:
  steps:
    - estimator: sklearn.preprocessing.StandardScaler
      params: {}
    - estimator: sklearn.linear_model.LogisticRegression
      params: {C: 1.0, max_iter: 500}
"""


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    """300 rows of the breast-cancer data with an id column, as a project's CSV would have."""
    frame = load_breast_cancer(as_frame=True).frame.sample(300, random_state=0)
    frame = frame.rename(columns={"target": "label"}).reset_index(drop=True)
    frame.insert(0, "id", range(len(frame)))
    return frame


@pytest.fixture
def work(tmp_path: Path, cancer: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding data/train.csv and a params.yaml naming a random forest."""
    (tmp_path / "data").mkdir()
    cancer.to_csv(tmp_path / "data" / "train.csv", index=False)
    (tmp_path / "params.yaml").write_text(RF)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`mlops-ci train ARGS` in-process: its exit code and what it wrote to stderr."""
    base = ["train", "--data", "data/train.csv", "--target", "label", "--out", "model.skops"]
    code = main([*base, *args])
    return code, capsys.readouterr().err


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """The one error line of a refused `mlops-ci train`, checked for exit code 2."""
    code, err = train(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlops-ci: error: "), err
    return lines[0]


def info_of(work: Path, name: str = "model.train.json") -> dict[str, Any]:
    return json.loads((work / name).read_text())  # type: ignore[no-any-return]


# --- training -------------------------------------------------------------------------------


def test_trains_the_forest_params_name_and_the_skops_file_predicts_the_same(
    work: Path, cancer: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = train(capsys, "--drop", "id")
    assert code == 0, err
    assert "trained sklearn.ensemble.RandomForestClassifier on 300 rows and 30 features" in err
    info = info_of(work)
    assert info["estimator"] == "sklearn.ensemble.RandomForestClassifier"
    assert info["params"] == {"n_estimators": 8, "max_depth": 4, "random_state": 0}
    assert info["seed"] == 0 and info["pipeline"] is None
    assert info["data"]["rows"] == 300 and info["data"]["n_features"] == 30
    assert info["data"]["target"] == "label" and "id" not in info["data"]["features"]
    assert info["data"]["path"] == "data/train.csv"  # as given, not a machine path
    assert info["classes"] == [0, 1]
    assert info["model"]["format"] == "skops" and info["model"]["path"] == "model.skops"
    assert info["trusted_types"] == skops_types(work / "model.skops")
    assert set(info["versions"]) >= {"python", "scikit-learn", "numpy", "pandas", "skops"}
    assert info["versions"]["scikit-learn"] and info["training_seconds"] >= 0

    assert read_train_info(work / "model.train.json") == info  # it meets its schema

    loaded = load_model(work / "model.skops", trusted_types=info["trusted_types"])
    X, y = cancer.drop(columns=["id", "label"]), cancer["label"]
    in_memory = RandomForestClassifier(**info["params"]).fit(X, y)
    np.testing.assert_array_equal(loaded.predict(X), in_memory.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), in_memory.predict_proba(X))


def test_the_same_seed_trains_the_same_model_and_params_win_over_the_seed(
    work: Path, cancer: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    X = cancer.drop(columns=["id", "label"])
    runs = []
    for seed, name in (("7", "a"), ("7", "b"), ("8", "c")):
        assert train(capsys, "--drop", "id", "--seed", seed, "--out", f"{name}.skops")[0] == 0
        info = info_of(work, f"{name}.train.json")
        runs.append(load_model(work / f"{name}.skops", trusted_types=info["trusted_types"]))
        assert info["params"]["random_state"] == int(seed)
    first, again, other = (model.predict_proba(X) for model in runs)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)  # the seed reached the forest

    (work / "params.yaml").write_text(RF + "    random_state: 3\n")
    assert train(capsys, "--drop", "id", "--seed", "9")[0] == 0
    assert info_of(work)["params"]["random_state"] == 3 and info_of(work)["seed"] is None


def test_a_pipeline_of_steps(work: Path, cancer: pd.DataFrame,
                             capsys: pytest.CaptureFixture[str]) -> None:
    (work / "params.yaml").write_text(PIPELINE)
    code, err = train(capsys, "--features", "mean radius,mean texture,worst area")
    assert code == 0, err
    info = info_of(work)
    assert info["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert [(s["role"], s["estimator"]) for s in info["pipeline"]] == [
        ("step", "sklearn.preprocessing.StandardScaler"),
        ("model", "sklearn.linear_model.LogisticRegression"),
    ]
    assert info["data"]["features"] == ["mean radius", "mean texture", "worst area"]
    assert train(capsys, "--features", "mean radius,mean radius", "--out", "twice.skops")[0] == 0
    assert info_of(work, "twice.train.json")["data"]["features"] == ["mean radius"]
    model = load_model(work / "model.skops", trusted_types=info["trusted_types"])
    assert type(model).__name__ == "Pipeline"
    assert model.score(cancer[info["data"]["features"]], cancer["label"]) > 0.8


def test_preprocess_encodes_the_categorical_columns_and_scales_the_numeric(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    iris = load_iris(as_frame=True).frame.rename(columns={"target": "label"})
    iris["label"] = np.array(["setosa", "versicolor", "virginica"])[iris["label"]]
    iris["site"] = np.where(np.arange(len(iris)) % 2, "north", "south")
    iris.to_parquet(work / "data" / "iris.parquet")
    (work / "params.yaml").write_text(
        "model:\n"
        "  preprocess:\n"
        "    numeric: [{estimator: sklearn.preprocessing.StandardScaler}]\n"
        "    categorical:\n"
        "      estimator: sklearn.preprocessing.OneHotEncoder\n"
        "      params: {handle_unknown: ignore}\n"
        "  estimator: sklearn.linear_model.LogisticRegression\n"
        "  params: {max_iter: 500}\n"
    )
    code, err = train(capsys, "--data", "data/iris.parquet")
    assert code == 0, err
    info = info_of(work)
    assert info["classes"] == ["setosa", "versicolor", "virginica"]
    assert [s["role"] for s in info["pipeline"]] == ["model", "numeric", "categorical"]
    model = load_model(work / "model.skops", trusted_types=info["trusted_types"])
    assert model.score(iris.drop(columns=["label"]), iris["label"]) > 0.9


def test_joblib_is_an_explicit_opt_in_and_loads_only_with_allow_pickle(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train(capsys, "--drop", "id", "--format", "joblib", "--out", "m.joblib")[0] == 0
    info = info_of(work, "m.train.json")
    assert info["model"]["format"] == "joblib" and info["trusted_types"] == []
    with pytest.raises(Exception, match="runs code"):
        load_model(work / "m.joblib", trusted_types=[])
    assert load_model(work / "m.joblib", trusted_types=[], allow_pickle=True).n_estimators == 8
    line = refused(capsys, "--format", "joblib")  # --out model.skops
    assert "named as a skops file but --format is joblib" in line and "model.joblib" in line


def test_read_train_info_refuses_a_sidecar_it_did_not_write(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train(capsys, "--drop", "id")[0] == 0
    info = info_of(work)
    info["trusted_types"] = "builtins.eval"
    (work / "bad.json").write_text(json.dumps(info))
    with pytest.raises(InputError, match=r"bad.json is not one `mlops-ci train` writes: "
                       r"trusted_types must be a list"):
        read_train_info(work / "bad.json")
    with pytest.raises(InputError, match="does not exist; `mlops-ci train` writes it"):
        read_train_info(work / "nope.json")


def test_the_sidecar_goes_where_info_says(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train(capsys, "--drop", "id", "--out", "models/rf.skops", "--info", "out/i.json")[0] == 0
    assert (work / "models" / "rf.skops").is_file() and not (work / "models/rf.train.json").exists()
    assert info_of(work, "out/i.json")["model"]["path"] == "models/rf.skops"


# --- refusals of what params.yaml names -----------------------------------------------------

ATTACKS = [
    "os.system",
    "builtins.eval",
    "importlib.import_module",
    "subprocess.Popen",
    "sklearnx.evil.Estimator",  # a prefix trick: not inside sklearn
    "sklearn/../os.system",
    "sklearn.utils._testing.MinimalClassifier",  # private module
    "sklearn.base.BaseEstimator.__reduce__",  # a __reduce__-style name
    "sklearn.__builtins__.eval",
    "sklearn..ensemble.RandomForestClassifier",
    " sklearn.ensemble.RandomForestClassifier",
    "sklearn.ensemble.RandomForestClassifier; rm -rf ~",
    "sklearn.ensemble.RandomForestClassif\u0456er",  # a Cyrillic і
    "sklearn.ensemble:RandomForestClassifier",
    "sklearn.utils.tests.test_validation.MyEstimator",  # a library's tests
    "RandomForestClassifier",
]


@pytest.mark.parametrize("name", ATTACKS)
def test_names_outside_the_allowlist_or_odd_are_refused_with_the_key_and_the_fix(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    imported: list[str] = []
    real = importlib.import_module

    def recording(module: str, package: str | None = None) -> Any:
        imported.append(module)
        return real(module, package)

    monkeypatch.setattr(estimators.importlib, "import_module", recording)
    (work / "params.yaml").write_text(f"model:\n  estimator: {json.dumps(name)}\n")
    line = refused(capsys)
    assert imported == []  # refused on its text, before any import
    assert "params.yaml, line 2: model.estimator is " in line
    assert "sklearn.ensemble.RandomForestClassifier" in line  # the fix names a real estimator
    assert not (work / "model.skops").exists()


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("sklearn.utils.Bunch", "not a class deriving from scikit-learn's BaseEstimator"),
        ("sklearn.pipeline.make_pipeline", "not a class deriving"),
        ("sklearn.base.BaseEstimator", "without a fit method"),
        ("sklearn.ensemble.RandomForestClassifer", "did you mean sklearn.ensemble."
         "RandomForestClassifier?"),
        ("sklearn.nonexistent.Thing", "cannot be imported"),
    ],
)
def test_names_inside_sklearn_that_are_no_estimator_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str], name: str, problem: str
) -> None:
    (work / "params.yaml").write_text(f"model:\n  estimator: {name}\n")
    line = refused(capsys)
    assert f"model.estimator is '{name}'" in line and problem in line


def test_a_name_outside_the_allowlist_is_refused_before_anything_is_imported(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = work / "imported"
    for package in ("sklearnx", "evil"):
        (work / package).mkdir()
        (work / package / "__init__.py").write_text(
            f"open({str(marker)!r}, 'a').write({package!r})\n"
        )
    monkeypatch.syspath_prepend(str(work))
    for name in ("sklearnx.Estimator", "evil.Estimator"):
        (work / "params.yaml").write_text(f"model:\n  estimator: {name}\n")
        assert "outside the modules estimators may come from (sklearn)" in refused(capsys)
    assert not marker.exists()
    assert "sklearnx" not in sys.modules and "evil" not in sys.modules


def test_check_name_matches_whole_dotted_parts() -> None:
    assert check_name("sklearn.svm.SVC", ("sklearn",), where="w") == ("sklearn.svm", "SVC")
    assert inside("xgboost.sklearn", ("sklearn", "xgboost"))
    assert not inside("sklearnx", ("sklearn",)) and not inside("sk", ("sklearn",))
    with pytest.raises(ConfigError, match="outside"):
        check_name("sklearn_extra.X", ("sklearn",), where="w")


@given(
    st.text(max_size=60)
    | st.sampled_from(ATTACKS).map(lambda a: a + "x")
    | st.from_regex(r"(sklearn|sklearnx|xgboost|os|_x)(\.[A-Za-z_][A-Za-z0-9_]{0,6}){1,3}",
                    fullmatch=True)
)
def test_check_name_lets_through_only_public_names_inside_the_allowlist(name: str) -> None:
    try:
        module, cls = check_name(name, ("sklearn", "xgboost"), where="w")
    except ConfigError:
        return
    assert inside(module, ("sklearn", "xgboost")) and f"{module}.{cls}" == name
    assert all(part.isascii() and part.isidentifier() and not part.startswith("_")
               for part in name.split("."))


def test_allowed_modules_in_mlops_yaml_adds_a_library_and_nothing_it_re_exports(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (work / "otherlib.py").write_text(
        "from sklearn.tree import DecisionTreeClassifier\n"
        "class Borrowed(DecisionTreeClassifier):\n    pass\n"
    )
    (work / "mylib.py").write_text(
        "from sklearn.tree import DecisionTreeClassifier\n"
        "from otherlib import Borrowed\n"
        "class Tree(DecisionTreeClassifier):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(work))
    (work / "params.yaml").write_text("model:\n  estimator: mylib.Tree\n")
    assert "outside the modules" in refused(capsys, "--drop", "id")

    (work / "mlops.yaml").write_text("train:\n  allowed_modules: [mylib]\n")
    code, err = train(capsys, "--drop", "id")
    assert code == 0, err
    assert info_of(work)["estimator"] == "mylib.Tree"
    assert "mylib.Tree" in info_of(work)["trusted_types"]

    (work / "params.yaml").write_text("model:\n  estimator: mylib.Borrowed\n")
    assert "it is defined in otherlib, outside the allowed modules" in refused(capsys)


def test_the_config_comes_from_config_or_mlops_ci_config(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (work / "mine.py").write_text(
        "from sklearn.tree import DecisionTreeClassifier\n"
        "class Tree(DecisionTreeClassifier):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(work))
    (work / "params.yaml").write_text("model:\n  estimator: mine.Tree\n")
    (work / "ci").mkdir()
    (work / "ci" / "mlops.yaml").write_text("train:\n  allowed_modules: [mine]\n")
    assert "outside the modules" in refused(capsys, "--drop", "id")
    assert train(capsys, "--drop", "id", "--config", "ci/mlops.yaml")[0] == 0
    monkeypatch.setenv("MLOPS_CI_CONFIG", "ci/mlops.yaml")
    assert train(capsys, "--drop", "id")[0] == 0
    assert "No mlops.yaml" in refused(capsys, "--config", "nope/mlops.yaml")


@pytest.mark.parametrize(
    ("modules", "message"),
    [
        ("[os]", "a module of Python's standard library"),
        ("[subprocess]", "a module of Python's standard library"),
        ("[builtins]", "a module of Python's standard library"),
        ("[importlib.util]", "a module of Python's standard library"),
        ("[_private]", "train.allowed_modules[0]"),
        ("['sklearn/../os']", "train.allowed_modules[0]"),
    ],
)
def test_allowed_modules_refuses_the_standard_library_and_odd_names(
    tmp_path: Path, modules: str, message: str
) -> None:
    (tmp_path / "mlops.yaml").write_text(f"train:\n  allowed_modules: {modules}\n")
    with pytest.raises(ConfigError, match="line 2") as caught:
        load_config(tmp_path / "mlops.yaml", pipeline=False)
    assert message in str(caught.value)


def test_allowed_modules_extends_scikit_learn(tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text("train:\n  allowed_modules: [xgboost, lightgbm]\n")
    config = load_config(tmp_path / "mlops.yaml", pipeline=False)
    assert config.train.allowed_modules == ("sklearn", "xgboost", "lightgbm")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ("    n_estimator: 3\n", "params.yaml, line 6: model.params.n_estimator is not a "
         "parameter of sklearn.ensemble.RandomForestClassifier"),
        ("    n_estimator: 3\n", "did you mean n_estimators?"),
        ("    criterion: purity\n", "params.yaml, line 6: model.params.criterion: "
         "sklearn.ensemble.RandomForestClassifier refused the value: The 'criterion' parameter"),
        ("    max_features: 2024-01-01\n", "model.params.max_features is the date 2024-01-01"),
    ],
)
def test_params_the_estimator_refuses_name_the_key(
    work: Path, capsys: pytest.CaptureFixture[str], params: str, expected: str
) -> None:
    (work / "params.yaml").write_text(RF + params)
    assert expected in refused(capsys)


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        (RF, ("--params", "nope.yaml"), "No params file nope.yaml"),
        (RF, ("--params-key", "train"), "params.yaml has no `train` section"),
        ("model:\n  params: {C: 1}\n", (), "model names no estimator"),
        ("model:\n  estimator: 3\n", (), "model.estimator is 3"),
        ("model:\n  estimatr: sklearn.svm.SVC\n", (), "did you mean estimator?"),
        ("model:\n  steps: []\n", (), "model.steps is a list; write a list of steps"),
        (PIPELINE + "  estimator: sklearn.svm.SVC\n", (), "has both `steps` and `estimator`"),
        ("model:\n  estimator: sklearn.svm.SVC\n  params: [1]\n", (), "not a mapping"),
        ("model:\n  steps:\n    - estimator: sklearn.linear_model.LogisticRegression\n"
         "    - estimator: sklearn.svm.SVC\n", (), "model.steps[0].estimator is "
         "'sklearn.linear_model.LogisticRegression', which does not transform data"),
        ("model: [\n", (), "YAML syntax error"),
        ("model:\n  estimator: sklearn.multiclass.OneVsRestClassifier\n", (),
         "params.yaml, line 2: model.estimator: sklearn.multiclass.OneVsRestClassifier cannot "
         "be built from params.yaml's plain values"),
    ],
)
def test_params_files_of_the_wrong_shape_are_refused(
    work: Path, capsys: pytest.CaptureFixture[str], text: str, args: tuple[str, ...],
    expected: str
) -> None:
    (work / "params.yaml").write_text(text)
    assert expected in refused(capsys, *args)


def test_non_finite_params_are_data_and_the_sidecar_stays_strict_json(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "params.yaml").write_text(
        "evaluate: {threshold: .nan}\n"
        "model:\n  steps:\n    - estimator: sklearn.preprocessing.StandardScaler\n"
        "    - estimator: sklearn.linear_model.LogisticRegression\n"
        "      params: {C: .inf, max_iter: 2000}\n"
    )
    code, err = train(capsys, "--drop", "id")
    assert code == 0, err
    text = (work / "model.train.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert info_of(work)["params"]["C"] == ".inf"
    assert info_of(work)["pipeline"][1]["params"]["C"] == ".inf"


def test_a_nested_params_key(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nested = "".join(f"  {line}\n" for line in RF.splitlines())
    (work / "params.yaml").write_text(f"train:\n{nested}")
    assert train(capsys, "--params-key", "train.model", "--drop", "id")[0] == 0


@pytest.mark.parametrize(
    "text",
    [
        "model:\n  estimator: sklearn.cluster.FeatureAgglomeration\n  params: {memory: cache}\n",
        "model:\n  estimator: sklearn.pipeline.Pipeline\n"
        "  params: {steps: [[a, passthrough]], memory: cache}\n",
    ],
)
def test_a_joblib_cache_directory_from_params_is_refused(
    work: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    (work / "params.yaml").write_text(text)
    line = refused(capsys)
    assert "params.yaml, line 3: model.params.memory is 'cache'" in line
    assert "would cache its work as pickles there and load them back" in line


def test_params_only_the_fit_refuses_name_the_params_file(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "params.yaml").write_text(
        "model:\n  steps:\n"
        "    - {estimator: sklearn.decomposition.PCA, params: {n_components: 500}}\n"
        "    - {estimator: sklearn.linear_model.LogisticRegression}\n"
    )
    line = refused(capsys, "--drop", "id")
    assert "Training on data/train.csv failed: " in line and "n_components=500" in line
    assert "Check the estimator's params (params.yaml `model`)" in line
    assert not (work / "model.skops").exists() and not list(work.glob(".model*"))


def test_a_model_that_cannot_be_written_is_named(work: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (work / "blocked").write_text("a file where the model's directory would be")
    line = refused(capsys, "--drop", "id", "--out", "blocked/model.skops")
    assert "Cannot write the model file blocked/model.skops" in line and ".tmp" not in line
    line = refused(capsys, "--drop", "id", "--info", "blocked/info.json")
    assert "Cannot write the training sidecar blocked/info.json" in line


def test_the_documented_params_build(tmp_path: Path) -> None:
    from mlops_ci.evaluation.estimators import build_model
    from mlops_ci.evaluation.train_spec import read_model_spec

    docs = (Path(__file__).parents[1] / "docs" / "train.md").read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", docs, re.S) if b.startswith(("model:",
              "# params.yaml"))]
    assert len(blocks) == 3
    for block in blocks:
        (tmp_path / "params.yaml").write_text(block)
        built = build_model(read_model_spec(tmp_path / "params.yaml", "model"))
        assert hasattr(built.estimator, "fit")


# --- refusals of the data -------------------------------------------------------------------


def test_data_problems_are_named(work: Path, cancer: pd.DataFrame,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, "--data", "data/missing.csv")
    assert "data/missing.csv does not exist" in line
    line = refused(capsys, "--target", "diagnosis")
    assert "no target column 'diagnosis'" in line and "its columns are id, mean radius" in line
    line = refused(capsys, "--features", "mean radius,nope")
    assert "no column nope (named by --features)" in line
    line = refused(capsys, "--drop", "nope")
    assert "no column nope (named by --drop)" in line
    assert "names the target column 'label'" in refused(capsys, "--features", "label,id")
    assert "unknown data format '.txt'" in refused(capsys, "--data", "params.yaml.txt")

    (work / "data" / "empty.csv").write_text("")
    assert "is empty (no header, no rows)" in refused(capsys, "--data", "data/empty.csv")
    (work / "data" / "header.csv").write_text("a,b,label\n")
    assert "has a header but no rows" in refused(capsys, "--data", "data/header.csv")

    gaps = cancer.copy()
    gaps["label"] = gaps["label"].astype(float)
    gaps.loc[[3, 10], "label"] = np.nan
    gaps.to_csv(work / "data" / "gaps.csv", index=False)
    line = refused(capsys, "--data", "data/gaps.csv")
    assert "target column 'label' of data/gaps.csv is empty in 2 of 300 rows" in line
    assert "line 5, 12" in line


def test_non_numeric_features_are_named(work: Path, cancer: pd.DataFrame,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    text = cancer.assign(site=np.where(cancer["id"] % 2, "north", "south"))
    text.to_csv(work / "data" / "text.csv", index=False)
    line = refused(capsys, "--data", "data/text.csv")
    assert "cannot take the non-numeric columns of data/text.csv: site" in line
    assert "OneHotEncoder" in line

    holes = cancer.copy()
    holes.loc[4, "mean radius"] = np.nan
    holes.to_csv(work / "data" / "holes.csv", index=False)
    (work / "params.yaml").write_text(PIPELINE)
    line = refused(capsys, "--data", "data/holes.csv")
    assert "The feature columns mean radius of data/holes.csv have empty values" in line


# --- the command line -----------------------------------------------------------------------


def test_help_imports_no_scientific_library(tmp_path: Path) -> None:
    for args in (["--help"], ["train", "--help"]):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "mlops_ci", *args], cwd=tmp_path,
            env=clean_env(), capture_output=True, text=True, check=True,
        )
        imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                    for line in done.stderr.splitlines() if "|" in line}
        assert "mlops_ci" in imported
        assert not imported & {"sklearn", "numpy", "pandas", "scipy", "skops"}
        assert "train" in done.stdout


@pytest.mark.slow
def test_a_dvc_stage_runs_mlops_ci_train_under_dvc_repro(tmp_path: Path,
                                                        cancer: pd.DataFrame) -> None:
    repo = new_dvc_repo(tmp_path / "repo")
    (repo / "data").mkdir()
    cancer.to_csv(repo / "data" / "train.csv", index=False)
    (repo / "params.yaml").write_text(RF)
    (repo / "dvc.yaml").write_text(
        "stages:\n"
        "  train:\n"
        "    cmd: mlops-ci train --data data/train.csv --target label --drop id "
        "--out model.skops\n"
        "    deps: [data/train.csv]\n"
        "    params: [model]\n"
        "    outs:\n"
        "      - model.skops\n"
        "      - model.train.json:\n"
        "          cache: false\n"
    )
    git("add", "--all", cwd=repo)
    env = clean_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "repro"], cwd=repo, env=env, capture_output=True,
        text=True, check=False, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    info = json.loads((repo / "model.train.json").read_text())
    assert info["params"]["n_estimators"] == 8
    model = load_model(repo / "model.skops", trusted_types=info["trusted_types"])
    assert model.score(cancer.drop(columns=["id", "label"]), cancer["label"]) > 0.9
    lock = (repo / "dvc.lock").read_text()
    assert "model.skops" in lock and "n_estimators: 8" in lock
