"""Writing the per-row predictions file; its format, and reading it back: ``predictions.py``.

:class:`PredictionsWriter` writes chunk by chunk to a temporary file beside the destination and
renames it into place only when every chunk is written: a failed run leaves no half file for
DVC to cache. pyarrow and numpy are imported inside the functions; see docs/evaluate.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.evaluation.predictions import (
    _PROBA,
    META_KEY,
    REQUIRED,
    PredictionsMeta,
    _pq,
    _problem,
    slice_column,
)
from mlops_ci.security import special_file_problem


def _arrow_type(values: Any) -> Any:
    """The arrow type a column keeps for the whole file, from its first chunk's numpy dtype."""
    import pyarrow as pa

    kind = values.dtype.kind
    if kind == "b":
        return pa.bool_()
    if kind in "iu":
        return pa.int64()
    if kind == "f":
        return pa.float64()
    if kind in "OUS":
        return pa.string()
    return None  # anything else (dates): as pyarrow infers it


def _arrow_array(values: Any, kind: Any) -> Any:
    """*values* as an arrow array of type *kind*; NaN and None are nulls. A text column that
    holds other values as well (numbers among text) keeps them as their text."""
    import pyarrow as pa

    try:
        return pa.array(values, type=kind, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        if kind != pa.string() or values.dtype.kind != "O":
            raise
    import pandas

    missing = pandas.isna(values)
    text = [None if gone else str(v) for v, gone in zip(values, missing, strict=True)]
    return pa.array(text, type=kind)


def _check_names(names: Sequence[str], meta: PredictionsMeta) -> None:
    for name in REQUIRED:
        if name not in names:
            raise InputError(f"A predictions chunk needs the column {name!r}.")
    allowed = {*REQUIRED, "y_score", *(slice_column(s) for s in meta.slices)}
    if meta.id is not None:
        allowed.add("id")
    for name in names:
        if name not in allowed and not _PROBA.fullmatch(name):
            raise InputError(f"{name!r} is not a column of a predictions file.")
    for name in (slice_column(s) for s in meta.slices):
        if name not in names:
            raise InputError(f"A predictions chunk needs the slice column {name!r}.")
    if meta.id is not None and "id" not in names:
        raise InputError("A predictions chunk needs the column 'id'.")


def _dictionary_columns(schema: Any) -> list[str]:
    """The columns worth dictionary-encoding: labels, slice values, ids, not ``row`` or
    floats. A float column's values are nearly all distinct, so the writer's dictionary fills
    and is dropped, at each row group, and that cost more than the rest of the write."""
    import pyarrow as pa

    return [f.name for f in schema if f.name != "row" and not pa.types.is_floating(f.type)]


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


class PredictionsWriter:
    """Write a predictions file chunk by chunk; it appears at *path* only when complete.

    ``with PredictionsWriter(path, meta) as out: out.write({"row": ..., "y_true": ...})``. The
    first chunk fixes the columns and their types; every later chunk is cast to them. On a
    clean exit from the ``with`` block the file is closed, its metadata (with the row count)
    written, and it is renamed onto *path*; on an exception nothing is left behind.
    :meth:`commit` does the same before the block ends.
    """

    def __init__(self, path: Path, meta: PredictionsMeta) -> None:
        problem = _problem(meta.to_json())
        if problem:
            raise InputError(f"Cannot write the predictions file {path}: {problem}.")
        self.path = Path(path)
        self.meta = meta
        self.rows = 0
        self.committed = False
        self._writer: Any = None
        self._schema: Any = None
        self._temporary: Path | None = None

    def __enter__(self) -> PredictionsWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def _start(self, columns: Mapping[str, Any]) -> None:
        import pyarrow as pa

        problem = special_file_problem(self.path)
        if problem or self.path.is_dir():
            raise InputError(
                f"Cannot write the predictions file {self.path}: it "
                f"{problem or 'is a directory'}; choose another path (--predictions)."
            )
        fields = []
        for name, values in columns.items():
            kind = _arrow_type(values)
            if kind is None:
                kind = pa.array(values, from_pandas=True).type
            fields.append(pa.field(name, kind))
        self._schema = pa.schema(fields)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._temporary = _temporary(self.path)
            self._writer = _pq().ParquetWriter(
                self._temporary, self._schema, use_dictionary=_dictionary_columns(self._schema)
            )
        except OSError as exc:
            raise InputError(
                f"Cannot write the predictions file {self.path}: {exc.strerror or exc}; "
                "choose a writable path (--predictions)."
            ) from None

    def write(self, columns: Mapping[str, Any]) -> None:
        """Append one chunk: ``{column: array}``, every array one value per row."""
        import numpy as np
        import pyarrow as pa

        if self.committed:
            raise InputError(f"The predictions file {self.path} is already written.")
        arrays = {name: np.asarray(values) for name, values in columns.items()}
        lengths = {len(values) for values in arrays.values()}
        if len(lengths) > 1:
            raise InputError("Every column of a predictions chunk needs one value per row.")
        if self._schema is None:
            _check_names(list(arrays), self.meta)
            self._start(arrays)
        elif list(arrays) != self._schema.names:
            raise InputError(
                f"A predictions chunk has the columns {', '.join(arrays)}, but the first had "
                f"{', '.join(self._schema.names)}."
            )
        if not lengths or lengths == {0}:
            return
        built = []
        for schema_field in self._schema:
            values = arrays[schema_field.name]
            try:
                built.append(_arrow_array(values, schema_field.type))
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as exc:
                raise InputError(
                    f"The column {schema_field.name!r} changes type at row {self.rows + 1} "
                    f"(it was {schema_field.type}; {exc}); give it one type throughout."
                ) from None
        try:
            self._writer.write_table(pa.Table.from_arrays(built, schema=self._schema))
        except OSError as exc:
            raise InputError(
                f"Cannot write the predictions file {self.path}: {exc.strerror or exc}."
            ) from None
        self.rows += lengths.pop()

    def commit(self) -> PredictionsMeta:
        """Finish the file and rename it onto the destination; returns its metadata."""
        if self.committed:
            return self.meta
        if self._writer is None:
            raise InputError(f"No rows were written to the predictions file {self.path}.")
        assert self._temporary is not None
        self.meta = replace(self.meta, rows=self.rows)
        try:
            text = json.dumps(self.meta.to_json(), allow_nan=False, separators=(",", ":"))
            self._writer.add_key_value_metadata({META_KEY: text.encode("utf-8")})
            self._writer.close()
            self._writer = None
            os.replace(self._temporary, self.path)
        except OSError as exc:
            self.abort()
            raise InputError(
                f"Cannot write the predictions file {self.path}: {exc.strerror or exc}; "
                "choose a writable path (--predictions)."
            ) from None
        except (TypeError, ValueError) as exc:  # a label JSON cannot hold (NaN)
            self.abort()
            raise InputError(f"Cannot write the predictions file's metadata: {exc}.") from None
        self.committed = True
        return self.meta

    def abort(self) -> None:
        """Drop what was written; the destination is left as it was."""
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self._writer.close()
            self._writer = None
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)


def write_predictions(
    path: Path, meta: PredictionsMeta, columns: Mapping[str, Any]
) -> PredictionsMeta:
    """Write a whole predictions file at once (one chunk); returns its metadata."""
    with PredictionsWriter(path, meta) as out:
        out.write(columns)
    return out.meta
