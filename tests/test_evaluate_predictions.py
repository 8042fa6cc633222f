"""mlops_ci/evaluation/predictions.py: the per-row predictions file, written and read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_ci.errors import InputError
from mlops_ci.evaluation.predictions import (
    META_KEY,
    PredictionsMeta,
    read_meta,
    read_prediction_chunks,
)
from mlops_ci.evaluation.predictions_writer import PredictionsWriter, write_predictions

META = PredictionsMeta(
    task="binary",
    target="label",
    labels=(0, 1),
    pos_label=1,
    id="customer",
    slices=("sex",),
    metrics_file="eval/metrics.json",
    model="model.skops",
    data="data/test.csv",
)


def chunk(start: int, stop: int) -> dict[str, np.ndarray]:
    rows = np.arange(start, stop)
    return {
        "row": rows,
        "y_true": rows % 2,
        "y_pred": (rows // 2) % 2,
        "y_score": rows / 100.0,
        "id": np.array([f"c{r}" for r in rows], dtype=object),
        "slice:sex": np.array([None if r % 5 == 0 else ("f" if r % 3 else "m") for r in rows],
                              dtype=object),
    }


def test_chunks_written_are_read_back_in_order_with_the_metadata(tmp_path: Path) -> None:
    path = tmp_path / "eval" / "predictions.parquet"
    with PredictionsWriter(path, META) as out:
        for start in range(0, 23, 7):
            out.write(chunk(start, min(start + 7, 23)))
        assert not path.exists()  # only complete files appear
    assert path.is_file()
    assert list(tmp_path.joinpath("eval").iterdir()) == [path]
    meta = read_meta(path)
    assert meta == PredictionsMeta(**{**META.__dict__, "rows": 23})
    document = json.loads(pq.ParquetFile(path).metadata.metadata[META_KEY])
    assert document["format"] == 1 and document["rows"] == 23 and document["labels"] == [0, 1]
    whole = chunk(0, 23)
    for size in (1, 5, 100):
        parts = list(read_prediction_chunks(path, chunk_rows=size))
        assert all(len(p["row"]) <= size for p in parts)
        for name, values in whole.items():
            got = np.concatenate([p[name] for p in parts])
            assert list(got) == list(values), name
    only = list(read_prediction_chunks(path, columns=["y_pred", "row"]))
    assert set(only[0]) == {"y_pred", "row"}
    assert pq.ParquetFile(path).schema_arrow.field("row").type == pa.int64()


def test_later_chunks_keep_the_first_chunks_types(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    meta = PredictionsMeta(task="regression", target="y", slices=("age",))
    with PredictionsWriter(path, meta) as out:
        out.write({"row": [0, 1], "y_true": [1.5, 2.0], "y_pred": [1.0, 2.5],
                   "slice:age": np.array([40, 50])})
        # a CSV chunk with a missing value reads as float: still the int column, with a null
        out.write({"row": [2], "y_true": [3.0], "y_pred": [3.0],
                   "slice:age": np.array([np.nan])})
    table = pq.read_table(path)
    assert table.schema.field("slice:age").type == pa.int64()
    assert table.column("slice:age").to_pylist() == [40, 50, None]
    with (
        pytest.raises(InputError, match=r"'slice:age' changes type at row 3"),
        PredictionsWriter(tmp_path / "q.parquet", meta) as out,
    ):
        out.write({"row": [0, 1], "y_true": [1.0, 2.0], "y_pred": [1.0, 2.0],
                   "slice:age": np.array([40, 50])})
        out.write({"row": [2], "y_true": [1.0], "y_pred": [1.0],
                   "slice:age": np.array(["forty"], dtype=object)})
    assert not (tmp_path / "q.parquet").exists()


def test_a_failure_inside_the_block_leaves_nothing_and_keeps_the_old_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.parquet"
    write_predictions(path, META, chunk(0, 4))
    before = path.read_bytes()
    with pytest.raises(RuntimeError), PredictionsWriter(path, META) as out:
        out.write(chunk(0, 10))
        raise RuntimeError("the model failed on chunk 2")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.parquet"]


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ({"row": [0], "y_true": [1]}, "needs the column 'y_pred'"),
        ({"row": [0], "y_true": [1], "y_pred": [1], "id": ["a"], "slice:sex": ["f"],
          "extra": [1]}, "'extra' is not a column"),
        ({"row": [0], "y_true": [1], "y_pred": [1], "id": ["a"]}, "slice column 'slice:sex'"),
        ({"row": [0, 1], "y_true": [1], "y_pred": [1], "id": ["a"], "slice:sex": ["f"]},
         "one value per row"),
    ],
)
def test_chunks_that_break_the_format_are_refused(
    tmp_path: Path, columns: dict[str, list[object]], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        write_predictions(tmp_path / "p.parquet", META, columns)
    assert list(tmp_path.iterdir()) == []


def test_multiclass_probability_columns_are_part_of_the_format(tmp_path: Path) -> None:
    meta = PredictionsMeta(task="multiclass", target="species", labels=("a", "b", "c"))
    columns = {"row": [0, 1], "y_true": np.array(["a", "c"], dtype=object),
               "y_pred": np.array(["a", "b"], dtype=object),
               "y_proba_0": [0.7, 0.1], "y_proba_1": [0.2, 0.5], "y_proba_2": [0.1, 0.4]}
    write_predictions(tmp_path / "p.parquet", meta, columns)
    (part,) = read_prediction_chunks(tmp_path / "p.parquet")
    assert list(part["y_true"]) == ["a", "c"] and list(part["y_proba_2"]) == [0.1, 0.4]
    assert read_meta(tmp_path / "p.parquet").labels == ("a", "b", "c")


def test_files_that_are_not_predictions_files_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"row": [0], "y_true": [1], "y_pred": [1]}), plain)
    with pytest.raises(InputError, match="not a predictions file .no mlops-ci metadata"):
        read_meta(plain)
    text = tmp_path / "text.parquet"
    text.write_text("row,y_true\n")
    with pytest.raises(InputError, match="not readable as parquet"):
        read_meta(text)
    with pytest.raises(InputError, match="does not exist"):
        read_meta(tmp_path / "missing.parquet")
    with pytest.raises(InputError, match="does not exist"):
        list(read_prediction_chunks(tmp_path / "missing.parquet"))

    def with_meta(name: str, document: object) -> Path:
        path = tmp_path / name
        table = pa.table({"row": [0], "y_true": [1], "y_pred": [1]})
        pq.write_table(table.replace_schema_metadata({META_KEY: json.dumps(document)}), path)
        return path

    good = {"format": 1, "task": "binary", "target": "y", "rows": 1, "slices": []}
    assert read_meta(with_meta("good.parquet", good)).rows == 1
    cases = {
        "newer": ({**good, "format": 2}, "newer than this mlops-ci reads"),
        "task": ({**good, "task": "ranking"}, "task 'ranking'"),
        "rows": ({**good, "rows": 5}, "holds 1 rows but its metadata says 5"),
        "slices": ({**good, "slices": ["sex"]}, "lacks the column.s. slice:sex"),
        "labels": ({**good, "labels": [{"x": 1}]}, "labels are not a list"),
        "list": ([1, 2], "not a JSON object"),
    }
    for name, (document, message) in cases.items():
        with pytest.raises(InputError, match=message):
            read_meta(with_meta(f"{name}.parquet", document))
    with pytest.raises(InputError, match="has no column 'y_score'"):
        list(read_prediction_chunks(with_meta("g2.parquet", good), columns=["y_score"]))


def test_a_writer_refuses_metadata_the_reader_would_refuse(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="task 'ranking'"):
        PredictionsWriter(tmp_path / "p.parquet", PredictionsMeta(task="ranking", target="y"))
    with pytest.raises(InputError, match="is a directory"):
        write_predictions(tmp_path, PredictionsMeta(task="regression", target="y"),
                          {"row": [0], "y_true": [1.0], "y_pred": [1.0]})


def test_text_columns_keep_missing_values_as_nulls_and_other_values_as_text(
    tmp_path: Path,
) -> None:
    meta = PredictionsMeta(task="regression", target="y", slices=("group",))
    path = tmp_path / "p.parquet"
    with PredictionsWriter(path, meta) as out:
        out.write({"row": [0, 1], "y_true": [1.0, 2.0], "y_pred": [1.0, 2.0],
                   "slice:group": np.array(["a", np.nan], dtype=object)})
        out.write({"row": [2, 3], "y_true": [1.0, 2.0], "y_pred": [1.0, 2.0],
                   "slice:group": np.array([None, 7], dtype=object)})
    assert pq.read_table(path).column("slice:group").to_pylist() == ["a", None, None, "7"]


def test_labels_and_slices_are_dictionary_encoded_and_floats_and_rows_are_not(
    tmp_path: Path,
) -> None:
    path = tmp_path / "predictions.parquet"
    write_predictions(path, META, chunk(0, 50))
    group = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {
        group.column(i).path_in_schema: set(group.column(i).encodings)
        for i in range(group.num_columns)
    }
    dictionary = {"PLAIN_DICTIONARY", "RLE_DICTIONARY"}
    for name in ("y_true", "y_pred", "id", "slice:sex"):
        assert encodings[name] & dictionary, name
    for name in ("row", "y_score"):
        assert not encodings[name] & dictionary, name
    assert read_prediction_chunks(path).__next__()["y_score"].tolist() == (
        np.arange(50) / 100.0
    ).tolist()
