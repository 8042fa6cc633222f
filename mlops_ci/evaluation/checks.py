"""Checks on one chunk of a column, and the class labels an evaluation has met.

Each check raises :class:`~mlops_ci.errors.InputError` naming the column, the first offending
row (rows are counted from 1, the header not included, across the whole input) and the fix.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from mlops_ci.errors import InputError


def _is_missing(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "f" or values.dtype.kind == "c":
        return np.asarray(np.isnan(values), dtype=bool)
    if values.dtype.kind == "O":
        import pandas

        return np.asarray(pandas.isna(values), dtype=bool)
    return np.zeros(values.shape[0], dtype=bool)


def column(values: Any, name: str, first_row: int) -> np.ndarray:
    """*values* as a 1-d numpy array; a missing value (NaN, None) is an InputError."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise InputError(f"Column {name!r} must be one value per row, not shape {array.shape}.")
    missing = _is_missing(array)
    if missing.any():
        row = first_row + int(np.argmax(missing))
        raise InputError(
            f"Column {name!r} has a missing value (NaN) on row {row}; "
            "drop or fill the missing rows before evaluating."
        )
    return array


def numbers(values: Any, name: str, first_row: int) -> np.ndarray:
    """*values* as finite float64; text, NaN or infinity is an InputError naming the row."""
    array = column(values, name, first_row)
    if array.dtype.kind not in "biuf":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            bad = next(i for i, v in enumerate(array) if not _is_number(v))
            raise InputError(
                f"Column {name!r} must hold numbers, but row {first_row + bad} holds "
                f"{array[bad]!r}; fix the value or name the right column."
            ) from None
    array = array.astype(np.float64, copy=False)
    infinite = ~np.isfinite(array)
    if infinite.any():
        row = first_row + int(np.argmax(infinite))
        raise InputError(
            f"Column {name!r} has an infinite value on row {row}; every value must be finite."
        )
    return array


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def label_text(label: object) -> str:
    return repr(label.item() if isinstance(label, np.generic) else label)


def python_label(label: object) -> Hashable:
    """A numpy scalar as the Python value (JSON-ready); other labels unchanged."""
    value = label.item() if isinstance(label, np.generic) else label
    assert isinstance(value, Hashable)
    return value


class Labels:
    """The class labels of one evaluation, each with a stable index.

    Declared labels are the whole set, in their order: any other label is an error. Without a
    declaration the labels are learned as rows arrive — the results do not depend on how the
    input is cut into chunks — and ``limit`` bounds how many there may be (two for a binary
    task).
    """

    def __init__(self, declared: Sequence[Any] | None, *, limit: int | None = None) -> None:
        self.declared = declared is not None
        self.items: list[Hashable] = []
        self.index: dict[Hashable, int] = {}
        self.limit = limit
        for label in declared or ():
            key = python_label(label)
            if key in self.index:
                raise InputError(f"The declared labels name {label_text(key)} twice.")
            self.index[key] = len(self.items)
            self.items.append(key)
        if limit is not None and len(self.items) > limit:
            raise InputError(
                f"A binary task has two labels, but {len(self.items)} are declared: "
                f"{', '.join(label_text(x) for x in self.items)}."
            )

    def __len__(self) -> int:
        return len(self.items)

    def encode(self, values: np.ndarray, name: str, first_row: int) -> np.ndarray:
        """The label index of every value (new labels learned unless declared)."""
        try:
            uniques, inverse = np.unique(values, return_inverse=True)
        except TypeError:
            raise InputError(
                f"Column {name!r} mixes text and numbers; give every label the same type."
            ) from None
        codes = np.empty(len(uniques), dtype=np.int64)
        for i, value in enumerate(uniques):
            codes[i] = self._code(python_label(value), values, name, first_row)
        return codes[inverse.reshape(-1)]

    def _code(self, key: Hashable, values: np.ndarray, name: str, first_row: int) -> int:
        found = self.index.get(key)
        if found is not None:
            return found
        row = first_row + int(np.argmax(values == key))
        known = ", ".join(label_text(x) for x in self.items)
        if self.declared:
            raise InputError(
                f"Column {name!r} holds the label {label_text(key)} on row {row}, which is not "
                f"among the declared labels ({known}); declare it or fix the data."
            )
        if self.limit is not None and len(self.items) >= self.limit:
            raise InputError(
                f"Column {name!r} holds a third label {label_text(key)} on row {row} in a "
                f"binary task whose labels are {known}; use the multiclass task or fix the data."
            )
        self.index[key] = len(self.items)
        self.items.append(key)
        return len(self.items) - 1

    def sorted_order(self) -> list[int]:
        """Indices in report order: declared order, else sorted as scikit-learn sorts labels."""
        if self.declared:
            return list(range(len(self.items)))
        try:
            return sorted(range(len(self.items)), key=lambda i: self.items[i])  # type: ignore[arg-type,return-value]
        except TypeError:
            return list(range(len(self.items)))
