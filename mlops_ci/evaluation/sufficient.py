"""The weighted sufficient statistics of a streaming Poisson bootstrap.

- :class:`LabelCodes`: class labels to their positions, with an error naming the row of a
  missing or unknown label;
- :class:`CellCounts`: how many rows fall in each joint cell (target, prediction of each
  model), and the B replicate confusion matrices of each model at the end, one Poisson draw
  per cell and replicate (``poisson.cell_weights``);
- :class:`RowSums`: column sums of rows, plain and weighted by every row's B Poisson weights
  (``poisson.row_block_weights``), a block of rows at a time.

numpy is imported here; this module is never imported by ``mlops-ci --help``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlops_ci.errors import InputError
from mlops_ci.evaluation import poisson


def shown(value: Any) -> str:
    """A value for a message: numpy scalars as the plain Python value they hold."""
    return repr(value.item() if isinstance(value, np.generic) else value)


class LabelCodes:
    """Class labels to their positions in *labels*, for the count tables."""

    def __init__(self, labels: Sequence[Any]):
        self.labels = np.asarray(list(labels))
        if self.labels.ndim != 1 or self.labels.size < 2:
            raise InputError(f"Give at least two class labels, not {list(labels)!r}.")
        if np.unique(self.labels).size != self.labels.size:
            raise InputError(f"The class labels {list(labels)!r} repeat a label; give each once.")
        self._order = np.argsort(self.labels, kind="stable")
        self._sorted = self.labels[self._order]

    def encode(self, values: np.ndarray, column: str, first_row: int) -> np.ndarray:
        missing = values != values  # NaN
        if values.dtype == object:
            missing |= values == None  # noqa: E711 - element-wise, None in an object column
        if np.any(missing):
            row = first_row + int(np.flatnonzero(missing)[0])
            raise InputError(
                f"{column} is missing at row {row}; drop the rows with missing values."
            )
        try:
            where = np.clip(np.searchsorted(self._sorted, values), 0, self._sorted.size - 1)
            found = self._sorted[where] == values
        except TypeError as exc:
            raise InputError(
                f"{column} holds values of another type than the class labels "
                f"{self.labels.tolist()!r}; give labels of the type the column holds."
            ) from exc
        if not np.all(found):
            bad = int(np.flatnonzero(~found)[0])
            raise InputError(
                f"{column} holds {shown(values[bad])} at row {first_row + bad}, which is not "
                f"one of the class labels {self.labels.tolist()!r}; add the label, or drop the "
                "rows that hold it."
            )
        return np.asarray(self._order[where], dtype=np.int64)


class CellCounts:
    """How many rows fall in each joint cell (y_true, prediction of model 1, ..., of model m)."""

    def __init__(self, classes: int, models: int):
        self.classes, self.models = classes, models
        self.cells = np.zeros(0, dtype=np.int64)
        self.counts = np.zeros(0, dtype=np.int64)

    def add(self, codes: Sequence[np.ndarray]) -> None:
        joint = np.zeros(codes[0].size, dtype=np.int64)
        for code in codes:
            joint = joint * self.classes + code
        cells, counts = np.unique(joint, return_counts=True)
        merged_cells = np.concatenate([self.cells, cells])
        merged_counts = np.concatenate([self.counts, counts])
        self.cells, inverse = np.unique(merged_cells, return_inverse=True)
        self.counts = np.zeros(self.cells.size, dtype=np.int64)
        np.add.at(self.counts, inverse.ravel(), merged_counts)

    def confusions(self, seed: int, replicates: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per model, the (K, K) confusion matrix and its (B, K, K) replicates."""
        k = self.classes
        draws = poisson.cell_weights(seed, self.counts, replicates)
        y = self.cells // k**self.models
        out = []
        for model in range(self.models):
            pred = (self.cells // k ** (self.models - 1 - model)) % k
            flat = y * k + pred
            point = np.zeros(k * k)
            np.add.at(point, flat, self.counts)
            order = np.argsort(flat, kind="stable")
            targets, starts = np.unique(flat[order], return_index=True)
            reps = np.zeros((replicates, k * k))
            reps[:, targets] = np.add.reduceat(draws[:, order], starts, axis=1)
            out.append((point.reshape(k, k), reps.reshape(replicates, k, k)))
        return out


class RowSums:
    """Column sums of rows, plain and weighted by each row's B Poisson weights.

    Rows are summed a block of ``poisson.BLOCK_ROWS`` at a time, always from the same buffer,
    so the floating-point sums do not depend on how the rows were chunked.
    """

    def __init__(self, columns: int, seed: int, replicates: int):
        self.seed, self.replicates = seed, replicates
        self.plain = np.zeros(columns)
        self.weighted = np.zeros((replicates, columns))
        self._block = np.zeros((poisson.BLOCK_ROWS, columns))
        self._filled = 0
        self._blocks = 0

    def add(self, rows: np.ndarray) -> None:
        start = 0
        while start < len(rows):
            take = min(poisson.BLOCK_ROWS - self._filled, len(rows) - start)
            self._block[self._filled : self._filled + take] = rows[start : start + take]
            self._filled += take
            start += take
            if self._filled == poisson.BLOCK_ROWS:
                plain, weighted = self._block_sums(self._filled)
                self.plain += plain
                self.weighted += weighted
                self._blocks += 1
                self._filled = 0

    def _block_sums(self, rows: int) -> tuple[np.ndarray, np.ndarray]:
        block = self._block[:rows]
        weighted = np.zeros_like(self.weighted)
        subs = poisson.row_block_weights(self.seed, self._blocks, self.replicates, rows)
        for start, weights in zip(range(0, rows, poisson.SUB_ROWS), subs, strict=True):
            weighted += weights.T @ block[start : start + poisson.SUB_ROWS]
        return block.sum(axis=0), weighted

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """The plain (columns,) and weighted (B, columns) sums of every row so far."""
        if self._filled == 0:
            return self.plain.copy(), self.weighted.copy()
        plain, weighted = self._block_sums(self._filled)
        return self.plain + plain, self.weighted + weighted
