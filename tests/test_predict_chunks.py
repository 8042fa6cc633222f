"""mlops_ci/predict_chunks.py: chunked scoring equals one-shot scoring, CSV and parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from conftest import run_without
from mlops_ci.errors import InputError
from mlops_ci.predict_chunks import column_names, predict_in_chunks, read_chunks

ROWS = 3_217  # not a multiple of the chunk size: the last chunk is short


class CountingModel:
    """Wraps a model and records the size of every batch it is asked to score."""

    def __init__(self, model: object) -> None:
        self.model = model
        self.batches: list[int] = []

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.batches.append(len(frame))
        return self.model.predict(frame)  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(rng.normal(size=(ROWS, 4)), columns=["a", "b", "c", "d"])


@pytest.fixture(scope="module")
def model(table: pd.DataFrame) -> object:
    y = (table["a"] - table["c"] > 0).astype(int)
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(table, y)


def _check(model: object, table: pd.DataFrame, source: Path, out: Path) -> None:
    counting = CountingModel(model)
    seen: list[int] = []
    assert predict_in_chunks(counting, source, out, chunk_rows=500, on_chunk=seen.append) == ROWS
    assert counting.batches == [500] * 6 + [217]
    assert seen == counting.batches
    written = pd.read_csv(out)
    assert list(written.columns) == ["prediction"]
    assert np.array_equal(written["prediction"].to_numpy(), model.predict(table))  # type: ignore[attr-defined]
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([source.name, out.name])


def test_csv_in_chunks_equals_one_shot(tmp_path: Path, table: pd.DataFrame, model: object) -> None:
    source = tmp_path / "data.csv"
    table.to_csv(source, index=False)
    _check(model, table, source, tmp_path / "preds.csv")


def test_parquet_in_chunks_equals_one_shot(
    tmp_path: Path, table: pd.DataFrame, model: object
) -> None:
    source = tmp_path / "data.parquet"
    table.to_parquet(source, index=False, row_group_size=1_000)
    _check(model, table, source, tmp_path / "preds.csv")


def test_a_failing_model_leaves_no_output(tmp_path: Path, table: pd.DataFrame) -> None:
    class Breaks:
        calls = 0

        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            Breaks.calls += 1
            if Breaks.calls == 2:
                raise RuntimeError("model failed")
            return np.zeros(len(frame))

    source = tmp_path / "data.csv"
    table.to_csv(source, index=False)
    out = tmp_path / "preds.csv"
    with pytest.raises(RuntimeError):
        predict_in_chunks(Breaks(), source, out, chunk_rows=1_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


def test_bad_inputs_are_refused(tmp_path: Path, model: object) -> None:
    with pytest.raises(InputError, match=r"unknown input format '\.txt'"):
        predict_in_chunks(model, tmp_path / "data.txt", tmp_path / "p.csv")
    with pytest.raises(InputError, match="chunk_rows must be at least 1"):
        predict_in_chunks(model, tmp_path / "data.csv", tmp_path / "p.csv", chunk_rows=0)
    with pytest.raises(InputError, match=r"Cannot read .*missing\.csv as CSV"):
        predict_in_chunks(model, tmp_path / "missing.csv", tmp_path / "p.csv")
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet", encoding="utf-8")
    with pytest.raises(InputError, match=r"Cannot read .*broken\.parquet as parquet"):
        predict_in_chunks(model, broken, tmp_path / "p.csv")
    assert not (tmp_path / "p.csv").exists()


def test_without_pandas_the_error_names_the_extra(tmp_path: Path) -> None:
    """pandas blocked from importing, in a child interpreter: the message names the extra."""
    code = (
        "from mlops_ci.errors import InputError\n"
        "from mlops_ci.predict_chunks import predict_in_chunks\n"
        "try:\n"
        "    predict_in_chunks(object(), 'in.csv', 'out.csv')\n"
        "except InputError as e:\n"
        "    print(e)\n"
    )
    out = run_without(["pandas"], code, cwd=tmp_path)
    assert "pip install 'mlops-ci[example]'" in out
    assert not (tmp_path / "out.csv").exists()


def test_special_or_unwritable_paths_are_refused(tmp_path: Path, model: object) -> None:
    import os

    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"The input .*in\.csv is a named pipe"):
        predict_in_chunks(model, fifo, tmp_path / "p.csv")
    good = tmp_path / "good.csv"
    pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0], "d": [4.0]}).to_csv(good, index=False)
    with pytest.raises(InputError, match=r"The output .* is a directory"):
        predict_in_chunks(model, good, tmp_path)
    with pytest.raises(InputError, match="Cannot write the predictions to"):
        predict_in_chunks(model, good, tmp_path / "no-such-dir" / "p.csv")


def test_an_empty_csv_gives_a_header_only(tmp_path: Path, model: object) -> None:
    source = tmp_path / "empty.csv"
    source.write_text("a,b,c,d\n", encoding="utf-8")
    out = tmp_path / "preds.csv"
    assert predict_in_chunks(model, source, out) == 0
    assert out.read_text(encoding="utf-8") == "prediction\n"


def test_without_pyarrow_parquet_is_refused_and_csv_still_works(tmp_path: Path) -> None:
    """pyarrow blocked from importing, in a child interpreter."""
    pd.DataFrame({"a": [1.0, 2.0]}).to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "in.parquet").write_bytes(b"PAR1")
    code = (
        "from mlops_ci.errors import InputError\n"
        "from mlops_ci.predict_chunks import predict_in_chunks\n"
        "class Model:\n"
        "    def predict(self, frame): return frame['a'] * 2\n"
        "print(predict_in_chunks(Model(), 'in.csv', 'out.csv'))\n"
        "try:\n"
        "    predict_in_chunks(Model(), 'in.parquet', 'out2.csv')\n"
        "except InputError as e:\n"
        "    print(e)\n"
    )
    out = run_without(["pyarrow", "pyarrow.parquet"], code, cwd=tmp_path)
    assert out.splitlines()[0] == "2"
    assert "needs pyarrow, which is not installed" in out
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == "prediction\n2.0\n4.0\n"
    assert not (tmp_path / "out2.csv").exists()


def test_read_chunks_reads_only_the_columns_asked(tmp_path: Path, table: pd.DataFrame) -> None:
    csv, parquet = tmp_path / "t.csv", tmp_path / "t.parquet"
    table.to_csv(csv, index=False)
    table.to_parquet(parquet, index=False)
    for path in (csv, parquet):
        assert column_names(path) == ["a", "b", "c", "d"]
        chunks = list(read_chunks(path, 1_000, ["d", "b"]))
        assert [len(c) for c in chunks] == [1_000, 1_000, 1_000, 217]
        assert sorted(chunks[0].columns) == ["b", "d"]
        assert np.allclose(pd.concat(chunks)["d"].to_numpy(), table["d"].to_numpy())
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="is empty: it has no header"):
        column_names(empty)
