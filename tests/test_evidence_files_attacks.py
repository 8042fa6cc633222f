"""Attack: head predictions files that are not ones mlops-ci wrote (a PR's own writer).

Each is a parquet file with a valid `mlops-ci` footer whose columns hold what no evaluation
writes. The standard: an input error (exit 2) with a clear message, never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import cli, git, new_dvc_repo

MLOPS = """\
model: {name: m, path: eval/predictions.parquet}
evaluation:
  slices: [sex]
  replicates: 200
gates:
%s"""

SLICE_GATE = "  - metric: recall\n    min: 0.5\n    slice: {sex: female}\n"
MCNEMAR = "  - metric: accuracy\n    max_drop: 0\n    test: mcnemar\n"


def footer(rows: int, **changes: object) -> dict:  # type: ignore[type-arg]
    meta = {"format": 1, "task": "binary", "target": "label", "labels": [0, 1], "pos_label": 1,
            "slices": ["sex"], "rows": rows, "metrics_file": "eval/metrics.json"}
    meta.update(changes)
    return meta


def write_raw(path: Path, columns: dict, meta: dict) -> None:  # type: ignore[type-arg]
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(columns).replace_schema_metadata({b"mlops-ci": json.dumps(meta).encode()})
    pq.write_table(table, path)


def first_run_repo(tmp_path: Path, gates: str, columns: dict) -> Path:  # type: ignore[type-arg]
    root = new_dvc_repo(tmp_path / "repo")
    (root / "mlops.yaml").write_text(MLOPS % gates)
    (root / ".gitignore").write_text(".mlops/\n")
    (root / "dvc.yaml").write_text("metrics:\n  - eval/metrics.json\n")
    (root / "eval").mkdir()
    (root / "eval" / "metrics.json").write_text(json.dumps({"accuracy": 0.9, "recall": 0.9}))
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    git("checkout", "-qb", "change", cwd=root)
    rows = len(columns["y_true"])
    write_raw(root / "eval" / "predictions.parquet", columns, footer(rows))
    (root / "eval" / "metrics.json").write_text(json.dumps({"accuracy": 0.8, "recall": 0.8}))
    git("add", "-A", cwd=root)
    git("commit", "-qm", "head", cwd=root)
    return root


GOOD = {"row": list(range(6)), "y_true": [0, 1, 0, 1, 0, 1], "y_pred": [0, 1, 0, 1, 1, 1],
        "slice:sex": ["female", "male"] * 3}


@pytest.mark.parametrize(
    ("name", "gates", "columns"),
    [
        ("a slice column of lists", SLICE_GATE, {**GOOD, "slice:sex": [[1], [2]] * 3}),
        ("a prediction column of lists", MCNEMAR, {**GOOD, "y_pred": [[1]] * 6}),
    ],
)
def test_a_predictions_file_with_nested_columns_is_an_input_error(
    tmp_path: Path, name: str, gates: str, columns: dict  # type: ignore[type-arg]
) -> None:
    root = first_run_repo(tmp_path, gates, columns)
    result = cli("run", "--no-repro", "--base", "main", cwd=root)
    output = result.stdout + result.stderr
    assert result.code == 2, (name, result.code, output[-1500:])
    assert "Traceback" not in output
    assert "must hold one value" in output, output[-800:]
