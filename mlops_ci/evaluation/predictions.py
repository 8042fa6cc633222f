"""The per-row predictions file `mlops-ci evaluate` writes and the gates read back.

A parquet file, one row per row of the test table, in its order:

- ``row`` (int64): the row's 0-based position in the test table;
- ``y_true``, ``y_pred``: the target and the model's prediction;
- ``y_score`` (binary, when the model has scores): the positive class's score;
- ``y_proba_0`` … ``y_proba_<K-1>`` (multiclass, when the model has probabilities): one per
  label, in the order of ``labels``;
- ``id`` (when the evaluation named an id column): its values;
- ``slice:<column>``: one per slice column, its values (a missing value is null).

The file's key-value metadata (its footer) holds ``mlops-ci``: a JSON object with ``format``
(1), ``task``, ``labels``, ``pos_label``, ``target``, ``id``, ``slices``, ``rows``,
``metrics_file``, ``model`` and ``data`` (:class:`PredictionsMeta`). The row count is known
only at the end, so it is written when the file is closed.

:class:`~mlops_ci.evaluation.predictions_writer.PredictionsWriter` writes it chunk by chunk
(``predictions_writer.py``); :func:`read_prediction_chunks` reads it back a chunk at a time.
pyarrow and numpy are imported inside the functions; see docs/evaluate.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.evaluation.predictions_checks import coherence_problem
from mlops_ci.security import special_file_problem

FORMAT = 1
META_KEY = b"mlops-ci"
TASKS = ("binary", "multiclass", "regression")
SLICE_PREFIX = "slice:"
PROBA_PREFIX = "y_proba_"
REQUIRED = ("row", "y_true", "y_pred")
DEFAULT_CHUNK_ROWS = 100_000
MAX_META_BYTES = 1 << 20
_PROBA = re.compile(r"y_proba_(0|[1-9][0-9]*)")
_LABEL_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class PredictionsMeta:
    """What a predictions file says about itself (its ``mlops-ci`` metadata)."""

    task: str
    target: str
    labels: tuple[Any, ...] | None = None
    pos_label: Any = None
    id: str | None = None
    slices: tuple[str, ...] = ()
    rows: int = 0
    metrics_file: str | None = None
    model: str | None = None
    data: str | None = None
    format: int = field(default=FORMAT)

    def slice_column(self, name: str) -> str:
        """The file's column that holds the slice column *name* (``slice:<name>``)."""
        return slice_column(name)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["labels"] = None if self.labels is None else list(self.labels)
        out["slices"] = list(self.slices)
        return {"format": out.pop("format"), **out}


def slice_column(name: str) -> str:
    return f"{SLICE_PREFIX}{name}"


def proba_column(index: int) -> str:
    return f"{PROBA_PREFIX}{index}"


def _problem(document: Any) -> str | None:
    """Why *document* is not a predictions file's metadata; None when it is."""
    if not isinstance(document, dict):
        return "its metadata is not a JSON object"
    fmt = document.get("format")
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        return "its metadata has no format number"
    if fmt > FORMAT:
        return f"it is format {fmt}, newer than this mlops-ci reads ({FORMAT}): upgrade mlops-ci"
    if fmt != FORMAT:
        return f"it is format {fmt}, which this mlops-ci does not read"
    if document.get("task") not in TASKS:
        return f"its task {document.get('task')!r} is not one of {', '.join(TASKS)}"
    if not isinstance(document.get("target"), str):
        return "its target is not a column name"
    labels = document.get("labels")
    if labels is not None and (
        not isinstance(labels, list) or not all(isinstance(x, _LABEL_TYPES) for x in labels)
    ):
        return "its labels are not a list of plain values"
    if document.get("pos_label") is not None and not isinstance(
        document["pos_label"], _LABEL_TYPES
    ):
        return "its pos_label is not a plain value"
    slices = document.get("slices", [])
    if not isinstance(slices, list) or not all(isinstance(s, str) for s in slices):
        return "its slices are not a list of column names"
    rows = document.get("rows")
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        return "its row count is not a whole number"
    for key in ("id", "metrics_file", "model", "data"):
        if document.get(key) is not None and not isinstance(document[key], str):
            return f"its {key} is not text"
    return coherence_problem(document)


def meta_from_json(document: Any, path: Path | str) -> PredictionsMeta:
    """The metadata *document* (parsed JSON) as a :class:`PredictionsMeta`; InputError if not."""
    problem = _problem(document)
    if problem:
        raise InputError(
            f"{path} is not a predictions file mlops-ci can read: {problem}. Write it again "
            "with `mlops-ci evaluate`."
        )
    return PredictionsMeta(
        format=document["format"],
        task=document["task"],
        target=document["target"],
        labels=None if document.get("labels") is None else tuple(document["labels"]),
        pos_label=document.get("pos_label"),
        id=document.get("id"),
        slices=tuple(document.get("slices", [])),
        rows=document["rows"],
        metrics_file=document.get("metrics_file"),
        model=document.get("model"),
        data=document.get("data"),
    )


def _pq() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError(
            "Predictions files are parquet, which needs pyarrow; install it with: "
            "pip install 'mlops-ci[evaluate]'."
        ) from exc
    return pq


def _open(path: Path) -> Any:
    pq = _pq()
    path = Path(path)
    problem = special_file_problem(path)
    if problem:
        raise InputError(f"The predictions file {path} {problem}; give a regular file.")
    if not path.is_file():
        raise InputError(
            f"The predictions file {path} does not exist; `mlops-ci evaluate` writes it "
            "(--predictions)."
        )
    try:
        return pq.ParquetFile(path)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError(
            f"{path} is not a predictions file (not readable as parquet: {exc}); write it with "
            "`mlops-ci evaluate`."
        ) from None


def _meta_of(parquet: Any, path: Path) -> PredictionsMeta:
    found = (parquet.metadata.metadata or {}).get(META_KEY)
    if found is None:
        raise InputError(
            f"{path} is a parquet file but not a predictions file (no {META_KEY.decode()} "
            "metadata); write it with `mlops-ci evaluate`."
        )
    if len(found) > MAX_META_BYTES:
        raise InputError(f"{path}: its {META_KEY.decode()} metadata is too large to be ours.")
    try:
        document = json.loads(found)
    except (ValueError, RecursionError):
        raise InputError(
            f"{path}: its {META_KEY.decode()} metadata is not JSON; write it again with "
            "`mlops-ci evaluate`."
        ) from None
    meta = meta_from_json(document, path)
    names = set(parquet.schema_arrow.names)
    wanted = [*REQUIRED, *(slice_column(s) for s in meta.slices)]
    if meta.id is not None:
        wanted.append("id")
    missing = [name for name in wanted if name not in names]
    if missing:
        raise InputError(
            f"{path} is not a whole predictions file: it lacks the column(s) "
            f"{', '.join(missing)}; write it again with `mlops-ci evaluate`."
        )
    row_type = parquet.schema_arrow.types[parquet.schema_arrow.names.index("row")]
    if not _pa_integer(row_type):
        raise InputError(
            f"{path} is not a predictions file mlops-ci can read: its row column holds "
            f"{row_type}, not whole numbers; write it again with `mlops-ci evaluate`."
        )
    if parquet.metadata.num_rows != meta.rows:
        raise InputError(
            f"{path} holds {parquet.metadata.num_rows} rows but its metadata says {meta.rows}; "
            "write it again with `mlops-ci evaluate`."
        )
    return meta


def _pa_integer(kind: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(kind))


def read_meta(path: Path) -> PredictionsMeta:
    """The metadata of the predictions file *path*; InputError when it is not one."""
    path = Path(path)
    return _meta_of(_open(path), path)


def read_prediction_chunks(
    path: Path, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, columns: Sequence[str] | None = None
) -> Iterator[dict[str, Any]]:
    """The file's rows as ``{column: numpy array}`` of at most *chunk_rows* rows, in order.

    *columns* (default: all) must be columns of the file. Nulls (a missing slice value) come
    back as None in an object array, or NaN in a float one.
    """
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be at least 1, not {chunk_rows}.")
    path = Path(path)
    parquet = _open(path)
    _meta_of(parquet, path)
    names = list(parquet.schema_arrow.names)
    wanted = names if columns is None else list(dict.fromkeys(columns))
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise InputError(
            f"The predictions file {path} has no column {unknown[0]!r} (its columns: "
            f"{', '.join(names)})."
        )
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=wanted):
            yield {
                name: batch.column(i).to_numpy(zero_copy_only=False)
                for i, name in enumerate(batch.schema.names)
            }
    except (OSError, ValueError) as exc:
        raise InputError(f"Cannot read the predictions file {path}: {exc}") from None
