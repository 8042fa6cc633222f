"""Score a table in chunks, writing predictions as they come (for `mlops-ci predict`).

The input is read a chunk at a time (CSV with pandas' ``read_csv(chunksize=...)``, parquet
with pyarrow's ``ParquetFile.iter_batches`` through a 1 MiB read buffer per column), so memory
stays at one chunk whatever the file's size or its row groups'. Predictions go to a CSV beside
the output, renamed into place once every row is scored: an interrupted run leaves no
half-written output. pandas (and pyarrow, for parquet) are
imported here, not at start-up; they are not core dependencies of mlops-ci.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.security import special_file_problem

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
PANDAS_EXTRA = "mlops-ci[example]"
DEFAULT_CHUNK_ROWS = 10_000
READ_BUFFER_BYTES = 1 << 20  # parquet: bytes read ahead per column


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise InputError(
            "Scoring a table needs pandas, which is not installed. "
            f"Install it with: pip install '{PANDAS_EXTRA}'."
        ) from exc
    return pandas


def _parquet(input_path: Path) -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError(
            f"Reading {input_path} (parquet) needs pyarrow, which is not installed. "
            "Install it with: pip install pyarrow, or give a CSV file."
        ) from exc
    return pq


def _format(input_path: Path) -> str:
    suffix = input_path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    raise InputError(
        f"{input_path}: unknown input format {suffix or '(no suffix)'!r}; give a .csv or "
        ".parquet file."
    )


def column_names(input_path: Path) -> list[str]:
    """The input's column names, read from its header (CSV) or schema (parquet) alone."""
    pandas = _pandas()
    if _format(input_path) == "csv":
        try:
            return [str(c) for c in pandas.read_csv(input_path, nrows=0).columns]
        except pandas.errors.EmptyDataError:
            raise InputError(
                f"{input_path} is empty: it has no header and no rows; give a CSV file with a "
                "header line."
            ) from None
        except (OSError, ValueError, pandas.errors.ParserError) as exc:
            raise InputError(f"Cannot read {input_path} as CSV: {exc}") from exc
    try:
        return list(_parquet(input_path).ParquetFile(input_path).schema_arrow.names)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError(f"Cannot read {input_path} as parquet: {exc}") from exc


def duplicated_columns(input_path: Path) -> list[str]:
    """The column names the input's header (CSV, as written: pandas would rename the second
    ``x`` to ``x.1``) or schema (parquet) holds more than once."""
    if _format(input_path) == "csv":
        import csv

        try:
            with open(input_path, newline="", encoding="utf-8", errors="replace") as stream:
                names = next(csv.reader(stream), [])
        except (OSError, csv.Error) as exc:
            raise InputError(f"Cannot read {input_path} as CSV: {exc}") from exc
    else:
        names = column_names(input_path)
    seen: dict[str, int] = {}
    for name in names:
        seen[name] = seen.get(name, 0) + 1
    return [name for name, count in seen.items() if count > 1]


def fixed_dtypes(input_path: Path, columns: Sequence[str], chunk_rows: int) -> dict[str, Any]:
    """For a CSV, the dtype of each of *columns* over the whole file, for :func:`read_chunks`.

    pandas infers each chunk's dtypes on its own: a label column whose text (``"x"``) comes
    late reads as integers in the first chunks and as text after, and the results would
    depend on the chunk size. A first pass reads only *columns*, a chunk at a time, and
    decides once what pandas would decide for the whole column: one dtype when every chunk
    has it, float64 for integers and floats (a missing value makes integers floats), else
    text (``str``). Empty for parquet, whose schema fixes the types.
    """
    pandas = _pandas()
    wanted = list(dict.fromkeys(columns))
    if _format(input_path) != "csv" or not wanted:
        return {}
    found: dict[str, set[Any]] = {name: set() for name in wanted}
    try:
        for chunk in pandas.read_csv(input_path, chunksize=chunk_rows, usecols=wanted):
            for name in wanted:
                found[name].add(chunk[name].dtype)
    except (OSError, ValueError, pandas.errors.ParserError) as exc:
        raise InputError(f"Cannot read {input_path} as CSV: {exc}") from exc
    decided: dict[str, Any] = {}
    for name, kinds in found.items():
        if len(kinds) == 1:
            decided[name] = kinds.pop()
        elif kinds and all(kind.kind in "iuf" for kind in kinds):
            decided[name] = "float64"
        else:
            decided[name] = str
    return decided


def read_chunks(
    input_path: Path,
    chunk_rows: int,
    columns: Sequence[str] | None = None,
    dtypes: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """The input's rows as DataFrames of at most *chunk_rows* rows (only *columns*, if given);
    a CSV's *dtypes* (see :func:`fixed_dtypes`) fix those columns' types in every chunk."""
    pandas = _pandas()
    wanted = list(columns) if columns is not None else None
    if _format(input_path) == "csv":
        try:
            yield from pandas.read_csv(
                input_path, chunksize=chunk_rows, usecols=wanted, dtype=dtypes or None
            )
        except (OSError, ValueError, pandas.errors.ParserError) as exc:
            raise InputError(f"Cannot read {input_path} as CSV: {exc}") from exc
        return
    pq = _parquet(input_path)
    try:
        # pyarrow's defaults read a row group's column chunks whole (about 420 MiB of arrow
        # memory for 1Mi-row groups of seven columns); a bounded read buffer, no pre-buffering,
        # holds about 1 MiB per column instead, and was no slower.
        parquet = pq.ParquetFile(input_path, pre_buffer=False, buffer_size=READ_BUFFER_BYTES)
        for batch in parquet.iter_batches(batch_size=chunk_rows, columns=wanted):
            frame = batch.to_pandas()
            del batch  # the arrow buffers go before the next batch is read
            yield frame
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError(f"Cannot read {input_path} as parquet: {exc}") from exc


def predict_in_chunks(
    model: Any,
    input_path: Path,
    output_path: Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    column: str = "prediction",
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """Write ``model.predict`` of every row of *input_path* to the CSV *output_path*.

    One column (*column*), one line per input row, in the input's order. *on_chunk* is
    called with each chunk's row count (for a progress bar). Returns the number of rows.
    """
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be at least 1, not {chunk_rows}.")
    pandas = _pandas()
    input_path, output_path = Path(input_path), Path(output_path)
    for what, path in (("input", input_path), ("output", output_path)):
        problem = special_file_problem(path)
        if problem:
            raise InputError(f"The {what} {path} {problem}; give a regular file.")
    # Beside the output, on its filesystem; O_EXCL and O_NOFOLLOW, as files.py writes.
    partial = output_path.with_name(f".{output_path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    rows = 0
    try:
        with open(os.open(partial, flags, 0o666), "w", newline="", encoding="utf-8") as out:
            for chunk in read_chunks(input_path, chunk_rows):
                if len(chunk) == 0:  # a header-only CSV reads as one empty chunk
                    continue
                predictions = model.predict(chunk)
                pandas.DataFrame({column: predictions}).to_csv(out, header=rows == 0, index=False)
                rows += len(chunk)
                if on_chunk is not None:
                    on_chunk(len(chunk))
            if rows == 0:
                pandas.DataFrame({column: []}).to_csv(out, index=False)
        os.replace(partial, output_path)
    except OSError as exc:
        raise InputError(
            f"Cannot write the predictions to {output_path}: {exc.strerror or exc}; "
            "choose a writable path."
        ) from exc
    finally:
        partial.unlink(missing_ok=True)
    return rows
