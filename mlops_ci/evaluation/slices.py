"""Metrics per slice: one accumulator per value (or combination of values) of named columns.

A slice spec is a column name (``"sex"``: one slice per value) or a tuple of names
(``("sex", "age_group")``: one per combination). A slice is named by a mapping,
``{"sex": "female"}``; a missing value in a slice column is the value None. Each slice's metrics
are those of scikit-learn on that slice's rows alone. The number of slices is bounded
(MAX_SLICES over all specs), so memory stays bounded whatever the data.

The chunks given to :meth:`SlicedAccumulators.update` should already have passed the overall
accumulator, whose errors name rows of the whole input (a slice's rows are counted apart).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from mlops_ci.errors import InputError
from mlops_ci.evaluation.checks import label_text, python_label
from mlops_ci.evaluation.metrics import Accumulator

MAX_SLICES = 1000
Key = tuple[Hashable, ...]
Spec = tuple[str, ...]


def specs(slices: Sequence[str | Sequence[str]]) -> list[Spec]:
    """Slice specs as tuples of column names, each once."""
    out: list[Spec] = []
    for spec in slices:
        names = (spec,) if isinstance(spec, str) else tuple(spec)
        if not names or len(set(names)) != len(names):
            raise InputError(f"A slice names its columns once each, not {list(names)}.")
        if names not in out:
            out.append(names)
    return out


def _codes(values: np.ndarray) -> tuple[list[Hashable], np.ndarray]:
    """Distinct values (missing → None) and each row's index into them."""
    import pandas

    codes, uniques = pandas.factorize(pandas.Series(values), use_na_sentinel=True)
    found: list[Hashable] = [python_label(v) for v in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(found), codes)
        found.append(None)
    return found, np.asarray(codes, dtype=np.int64)


class SlicedAccumulators:
    """Accumulators per slice, made by *make* for each new slice."""

    def __init__(
        self,
        make: Callable[[], Accumulator],
        slices: Sequence[str | Sequence[str]],
        *,
        max_slices: int = MAX_SLICES,
    ) -> None:
        self.make = make
        self.specs = specs(slices)
        self.max_slices = max_slices
        self.slices: dict[Spec, dict[Key, Accumulator]] = {spec: {} for spec in self.specs}

    @property
    def columns(self) -> list[str]:
        return sorted({name for spec in self.specs for name in spec})

    def count(self) -> int:
        return sum(len(found) for found in self.slices.values())

    def update(self, by: Mapping[str, Any], y_true: Any, y_pred: Any, y_score: Any = None) -> None:
        """One chunk: *by* maps each slice column to its values for the chunk's rows."""
        if not self.specs:
            return
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        score = None if y_score is None else np.asarray(y_score)
        coded = {name: _codes(np.asarray(by[name])) for name in self.columns}
        for spec in self.specs:
            # one code per combination of the spec's columns' codes
            sizes = tuple(len(coded[name][0]) for name in spec)
            combined = np.ravel_multi_index(tuple(coded[name][1] for name in spec), sizes)
            groups, inverse = np.unique(combined, return_inverse=True)
            inverse = inverse.reshape(-1)
            order = np.argsort(inverse, kind="stable")
            bounds = np.cumsum(np.bincount(inverse, minlength=len(groups)))[:-1]
            for group, rows in zip(groups, np.split(order, bounds), strict=True):
                parts = np.unravel_index(int(group), sizes)
                key = tuple(coded[name][0][int(c)] for name, c in zip(spec, parts, strict=True))
                self._slice(spec, key).update(
                    y_true[rows], y_pred[rows], None if score is None else score[rows]
                )

    def _slice(self, spec: Spec, key: Key) -> Accumulator:
        found = self.slices[spec]
        acc = found.get(key)
        if acc is None:
            if self.count() >= self.max_slices:
                raise InputError(
                    f"Slicing by {', '.join(spec)} makes more than {self.max_slices} slices; "
                    "slice by a column with fewer distinct values (bin a numeric column first)."
                )
            acc = found[key] = self.make()
        return acc

    def get(self, where: Mapping[str, Any]) -> Accumulator:
        """The accumulator of the slice *where* (``{"sex": "female"}``).

        A spec that was not declared, or values that match no row, is an InputError.
        """
        spec = next((s for s in self.specs if set(s) == set(where)), None)
        if spec is None:
            declared = "; ".join(", ".join(s) for s in self.specs) or "none"
            raise InputError(
                f"No slice by {', '.join(where)} was evaluated (slices: {declared}); "
                "declare it among the slices."
            )
        found = self.slices[spec]
        wanted = tuple(where[name] for name in spec)
        for key, acc in found.items():
            if all(same_value(k, w) for k, w in zip(key, wanted, strict=True)):
                return acc
        text = ", ".join(f"{name}: {label_text(where[name])}" for name in spec)
        seen = sorted({label_text(k[0]) for k in found})[:20]
        raise InputError(
            f"The slice {{{text}}} matches no row; the values of {spec[0]} are "
            f"{', '.join(seen) or 'none'}."
        )

    def results(self) -> list[dict[str, Any]]:
        """``[{"slice": {column: value}, "metrics": {...}}]``, spec by spec, values sorted."""
        out: list[dict[str, Any]] = []
        for spec in self.specs:
            for key in sorted(self.slices[spec], key=_sort_key):
                metrics = self.slices[spec][key].result()
                out.append({"slice": dict(zip(spec, key, strict=True)), "metrics": metrics})
        return out


def same_value(found: Any, wanted: Any) -> bool:
    """Whether a slice value *found* in the data is the value *wanted* that names a slice.

    Equal; or both numbers, or text that reads as a number, of the same value (a YAML ``"40"``
    names the slice of 40, and of 40.0 when a missing value made the column floats); or equal
    as text. The missing value (None) matches only itself. The one rule of evaluate's slices
    and of the gates' slice masks (``evidence_rows.py``).
    """
    if found == wanted:
        return True
    if found is None or wanted is None:
        return False
    a, b = _as_number(found), _as_number(wanted)
    if a is not None and b is not None:
        return a == b
    return str(found) == str(wanted)


def _as_number(value: Any) -> float | None:
    """*value* as a float when it is a number or text that reads as a finite one, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if np.isfinite(number) else None
    return None


def _sort_key(key: Key) -> tuple[tuple[int, float, str], ...]:
    """Numbers by value, then text, then the missing value."""
    return tuple(
        (0, float(v), "")
        if isinstance(v, (int, float))
        else (1, 0.0, str(v))
        if v is not None
        else (2, 0.0, "")
        for v in key
    )
