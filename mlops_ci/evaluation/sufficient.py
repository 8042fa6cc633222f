"""The weighted sufficient statistics of a streaming Poisson bootstrap.

- :class:`LabelCodes`: class labels to their positions, with an error naming the row of a
  missing or unknown label;
- :class:`CellCounts`: how many rows fall in each joint cell (target, prediction of each
  model), and the B replicate confusion matrices of each model at the end, one Poisson draw
  per cell and replicate (``poisson.cell_weights``);
- :class:`GroupSums`: column sums of rows per random group, and at the end the sums weighted
  by each group's B Poisson weights (``poisson.row_groups``, ``poisson.group_weights``).

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


class GroupSums:
    """Column sums of rows per random group, and at the end their B Poisson-weighted totals.

    Each row goes to one of *groups* groups (``poisson.row_groups``: drawn from its global
    position and the seed only) and only the per-group sums are kept, one ``np.bincount`` per
    column and block of ``poisson.BLOCK_GROUPS x groups`` rows. A block that a chunk holds
    whole is summed straight from the chunk, any other one is gathered in a buffer first:
    every block is summed from the same values in the same order, so the floating-point sums
    do not depend on how the rows were chunked. With at most *groups* rows in all, every row
    is a group of its own. Memory: O(groups x columns), whatever the number of rows, and no
    more than the rows themselves below a block.
    """

    def __init__(self, columns: int, seed: int, replicates: int, groups: int = poisson.GROUPS):
        self.columns, self.seed, self.replicates, self.groups = columns, seed, replicates, groups
        self.block_rows = poisson.BLOCK_GROUPS * groups
        self.rows = 0
        # both grow when needed: a small slice's bootstrap holds little more than its rows
        self._sums = np.zeros((columns, 0))
        self._buffer = np.zeros((columns, 0))
        self._assigned: tuple[int, np.ndarray] = (-1, np.zeros(0, dtype=np.intp))

    def add(self, parts: Sequence[np.ndarray]) -> None:
        """Add rows given as *columns* float64 arrays of the same length, one per column."""
        n, start = parts[0].size, 0
        while start < n:
            block, offset = divmod(self.rows, self.block_rows)
            take = min(self.block_rows - offset, n - start)
            if take == self.block_rows:  # a whole block, from the chunk itself
                self._add_block(block, [part[start : start + take] for part in parts])
            else:
                self._reserve(offset + take)
                for column, part in zip(self._buffer, parts, strict=True):
                    column[offset : offset + take] = part[start : start + take]
                if offset + take == self.block_rows:
                    self._add_block(block, list(self._buffer))
            self.rows += take
            start += take

    def _reserve(self, rows: int) -> None:
        if rows > self._buffer.shape[1]:
            size = min(self.block_rows, max(rows, 2 * self._buffer.shape[1], 1024))
            grown = np.zeros((self.columns, size))
            grown[:, : self._buffer.shape[1]] = self._buffer
            self._buffer = grown

    def _groups_of(self, block: int) -> np.ndarray:
        if self._assigned[0] != block:
            self._assigned = (block, poisson.row_groups(self.seed, block, self.groups))
        return self._assigned[1]

    def _block_sums(self, block: int, parts: Sequence[np.ndarray]) -> list[np.ndarray]:
        groups = self._groups_of(block)[: parts[0].size]
        return [np.bincount(groups, weights=part, minlength=self.groups) for part in parts]

    def _add_block(self, block: int, parts: Sequence[np.ndarray]) -> None:
        if self._sums.shape[1] == 0:
            self._sums = np.zeros((self.columns, self.groups))
        for total, sums in zip(self._sums, self._block_sums(block, parts), strict=True):
            total += sums

    def table(self) -> np.ndarray:
        """The sums of every group so far, one row per column: (columns, groups); with at most
        *groups* rows, the rows themselves (one group each)."""
        if self.rows <= self.groups:  # all of them in the buffer: block_rows > groups
            rows: np.ndarray = self._buffer[:, : self.rows].copy()
            return rows
        sums = np.zeros((self.columns, self.groups))
        if self._sums.size:  # a whole block was summed
            sums += self._sums
        block, filled = divmod(self.rows, self.block_rows)
        if filled:
            partial = self._block_sums(block, list(self._buffer[:, :filled]))
            for total, part in zip(sums, partial, strict=True):
                total += part
        return sums

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """The plain (columns,) and weighted (B, columns) sums of every row so far."""
        table = self.table()
        groups = table.shape[1]
        weighted = np.zeros((self.columns, self.replicates))
        tiles = poisson.group_weights(self.seed, self.replicates, groups)
        for start, weights in zip(range(0, groups, poisson.GROUP_TILE), tiles, strict=True):
            tile = table[:, start : start + poisson.GROUP_TILE]
            for total, column in zip(weighted, tile, strict=True):
                # one product per column: equal columns (the same model twice) get equal sums
                total += weights @ column
        return table.sum(axis=1), np.ascontiguousarray(weighted.T)
