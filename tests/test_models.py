"""mlops_ci/models.py: skops by default with recorded trusted types, pickle only on request."""

from __future__ import annotations

import builtins
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import run_without
from mlops_ci.errors import InputError
from mlops_ci.models import detect_format, load_model, save_model


class Doubler(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A custom transformer: a type skops does not trust by default."""

    def fit(self, X: object, y: object = None) -> Doubler:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return X * 2


class WritesMarker:
    """A pickle payload: unpickling it creates the marker file (as an attacker's would)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (builtins.open, (str(self.marker), "w"))


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


@pytest.fixture(scope="module")
def pipeline() -> object:
    X, y = _data()
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


def test_skops_round_trip_predicts_the_same(tmp_path: Path, pipeline: object) -> None:
    path = tmp_path / "model.skops"
    trusted = save_model(pipeline, path)
    assert "sklearn.pipeline.Pipeline" in trusted
    assert "sklearn.preprocessing._data.StandardScaler" in trusted
    assert trusted == sorted(trusted)
    loaded = load_model(path, trusted_types=trusted)
    X, _ = _data()
    assert np.array_equal(loaded.predict(X), pipeline.predict(X))  # type: ignore[attr-defined]
    assert np.allclose(loaded.predict_proba(X), pipeline.predict_proba(X))  # type: ignore[attr-defined]


def test_a_custom_type_not_recorded_is_refused_and_named(tmp_path: Path) -> None:
    X, y = _data()
    model = make_pipeline(Doubler(), LogisticRegression()).fit(X, y)
    path = tmp_path / "model.skops"
    trusted = save_model(model, path)
    custom = f"{Doubler.__module__}.Doubler"
    assert custom in trusted  # save_model reports what skops does not trust by default
    recorded = [name for name in trusted if name != custom]
    with pytest.raises(InputError, match=r"not recorded as trusted: .*Doubler") as info:
        load_model(path, trusted_types=recorded)
    assert custom in str(info.value)
    assert "save the model again" in str(info.value)
    # with the type recorded, it loads
    loaded = load_model(path, trusted_types=trusted)
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_a_default_trusted_type_not_recorded_is_refused_too(
    tmp_path: Path, pipeline: object
) -> None:
    """The recorded list is the whole truth: skops's own defaults do not widen it."""
    path = tmp_path / "model.skops"
    trusted = save_model(pipeline, path)
    recorded = [name for name in trusted if not name.endswith(".StandardScaler")]
    with pytest.raises(InputError, match=r"StandardScaler"):
        load_model(path, trusted_types=recorded)


def test_pickle_is_refused_unless_allowed_and_its_payload_does_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(WritesMarker(marker), protocol=pickle.HIGHEST_PROTOCOL))
    assert detect_format(path) == "pickle"
    for fmt in ("auto", "pickle", "joblib"):
        with pytest.raises(InputError, match="runs code from the file"):
            load_model(path, trusted_types=[], format=fmt)  # type: ignore[arg-type]
    assert not marker.exists()
    # the payload is real: allowing pickle runs it
    handle = load_model(path, trusted_types=[], allow_pickle=True)
    handle.close()
    assert marker.exists()


def test_pickle_named_skops_is_refused_even_with_pickle_allowed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(WritesMarker(marker), protocol=pickle.HIGHEST_PROTOCOL))
    with pytest.raises(InputError, match=r"named as a skops file but its bytes are a pickle"):
        load_model(path, trusted_types=[], allow_pickle=True)
    assert not marker.exists()


def test_skops_named_pickle_and_format_disagreeing_are_refused(
    tmp_path: Path, pipeline: object
) -> None:
    skops_file = tmp_path / "model.skops"
    trusted = save_model(pipeline, skops_file)
    misnamed = tmp_path / "model.joblib"
    misnamed.write_bytes(skops_file.read_bytes())
    with pytest.raises(InputError, match=r"named as a pickle file but its bytes are a skops"):
        load_model(misnamed, trusted_types=trusted, allow_pickle=True)
    with pytest.raises(InputError, match=r"loaded as joblib but its bytes are a skops"):
        load_model(skops_file, trusted_types=trusted, format="joblib", allow_pickle=True)


def test_joblib_opt_in_round_trip(tmp_path: Path, pipeline: object) -> None:
    path = tmp_path / "model.joblib"
    assert save_model(pipeline, path, format="joblib") == []
    with pytest.raises(InputError, match="allow_pickle=True"):
        load_model(path, trusted_types=[])
    loaded = load_model(path, trusted_types=[], format="joblib", allow_pickle=True)
    X, _ = _data()
    assert np.array_equal(loaded.predict(X), pipeline.predict(X))  # type: ignore[attr-defined]


def test_neither_format_and_unknown_format_are_refused(tmp_path: Path, pipeline: object) -> None:
    text = tmp_path / "model.bin"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(InputError, match="neither a skops file nor a pickle"):
        load_model(text, trusted_types=[])
    with pytest.raises(InputError, match="Unknown model format 'onnx'"):
        save_model(pipeline, tmp_path / "m.onnx", format="onnx")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="Cannot read the model file"):
        load_model(tmp_path / "missing.skops", trusted_types=[])


def test_a_zip_that_is_not_a_skops_file_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "model.skops"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(InputError, match="not a readable skops file"):
        load_model(path, trusted_types=[])


def test_a_fifo_or_directory_is_refused_without_blocking(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "model.skops"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"is a named pipe \(FIFO\)"):
        load_model(fifo, trusted_types=[])
    with pytest.raises(InputError, match="is a directory"):
        load_model(tmp_path, trusted_types=[])


def test_saving_where_it_cannot_write_is_an_input_error(tmp_path: Path, pipeline: object) -> None:
    for fmt in ("skops", "joblib", "pickle"):
        with pytest.raises(InputError, match="Cannot write the model file"):
            save_model(pipeline, tmp_path / "no-such-dir" / "model", format=fmt)  # type: ignore[arg-type]


def test_trusted_types_must_be_a_list_of_names(tmp_path: Path, pipeline: object) -> None:
    path = tmp_path / "model.skops"
    trusted = save_model(pipeline, path)
    with pytest.raises(InputError, match="must be a list of type names"):
        load_model(path, trusted_types=" ".join(trusted))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="must be a list of type names"):
        load_model(path, trusted_types=[Pipeline])  # type: ignore[list-item]


def test_without_skops_the_error_names_the_extra(tmp_path: Path) -> None:
    """skops blocked from importing, in a child interpreter: the message names the extra."""
    code = (
        "from pathlib import Path\n"
        "from mlops_ci.errors import InputError\n"
        "from mlops_ci.models import save_model\n"
        "try:\n"
        "    save_model([1, 2], Path('model.skops'))\n"
        "except InputError as e:\n"
        "    print(e)\n"
    )
    out = run_without(["skops", "skops.io"], code, cwd=tmp_path)
    assert "pip install 'mlops-ci[release]'" in out


def exec_step(marker: Path) -> object:
    """A FunctionTransformer that runs CODE (writing *marker*) through builtins.exec."""
    import functools

    from sklearn.preprocessing import FunctionTransformer

    code = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    return FunctionTransformer(func=functools.partial(builtins.exec, code, {}), validate=False)


def test_save_model_refuses_a_never_trusted_type_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    with pytest.raises(InputError, match="builtins.exec, which mlops-ci never trusts"):
        save_model(exec_step(tmp_path / "pwned"), path)
    assert not path.exists()


def test_a_never_trusted_type_is_refused_whatever_the_list_says(tmp_path: Path) -> None:
    import skops.io as sio

    marker = tmp_path / "pwned"
    path = tmp_path / "model.skops"
    path.write_bytes(sio.dumps(exec_step(marker)))
    listed = ["builtins.dict", "builtins.exec", "builtins.str", "builtins.tuple",
              "functools.partial",
              "sklearn.preprocessing._function_transformer.FunctionTransformer"]
    for trusted in (listed, None):
        with pytest.raises(InputError, match="builtins.exec"):
            load_model(path, trusted_types=trusted).transform(np.zeros((1, 1)))
    assert not marker.exists()


def test_never_trusted_keeps_the_plain_classes_a_schema_names() -> None:
    from mlops_ci.models import never_trusted

    plain = ["builtins.dict", "builtins.list", "builtins.str", "builtins.tuple", "builtins.int",
             "numpy.ndarray", "sklearn.pipeline.Pipeline", "functools.partial", "codecs.lookup"]
    assert never_trusted(plain) == []
    assert never_trusted(["os.system", "posix.system", "subprocess.Popen", "builtins.eval",
                          "os.path.join", "sys.modules"]) == [
        "builtins.eval", "os.path.join", "os.system", "posix.system", "subprocess.Popen",
        "sys.modules"]


def test_without_a_list_only_skops_default_types_load(tmp_path: Path, pipeline: object) -> None:
    path = tmp_path / "model.skops"
    save_model(pipeline, path)
    X, _ = _data()
    assert (load_model(path, trusted_types=None).predict(X) == pipeline.predict(X)).all()  # type: ignore[attr-defined]
    custom = tmp_path / "custom.skops"
    save_model(make_pipeline(Doubler(), StandardScaler()).fit(X), custom)
    with pytest.raises(InputError, match="does not trust by default: .*Doubler"):
        load_model(custom, trusted_types=None)


def test_the_bytes_given_are_the_bytes_loaded(tmp_path: Path, pipeline: object) -> None:
    path = tmp_path / "model.skops"
    save_model(pipeline, path)
    data = path.read_bytes()
    path.write_bytes(pickle.dumps(WritesMarker(tmp_path / "pwned")))  # the file changed since
    X, _ = _data()
    model = load_model(path, trusted_types=None, data=data)
    assert (model.predict(X) == pipeline.predict(X)).all()
    assert not (tmp_path / "pwned").exists()


def test_a_list_that_names_a_never_trusted_type_is_refused(tmp_path: Path, pipeline: object):
    path = tmp_path / "model.skops"
    trusted = save_model(pipeline, path)
    with pytest.raises(InputError, match="recorded for .* name os.system"):
        load_model(path, trusted_types=[*trusted, "os.system"])
