"""Floating-point sums that do not depend on how the rows were cut into chunks.

A float sum depends on the order and grouping of its additions: summed chunk by chunk, the
last digit of a log loss changes with ``--chunk-rows``. :class:`BlockSums` sums in fixed
blocks of ``block_rows`` rows counted from the first row (as ``sufficient.GroupSums`` does for
the bootstrap): a block a chunk holds whole is reduced straight from the chunk, any other one
is gathered in a buffer first, and the blocks' results are added in block order. Every block
is reduced from the same values in the same layout, so the totals are the same bits at every
chunk size. Memory: one block of rows at most.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

BLOCK_ROWS = 4096

Reduce = Callable[[Sequence[np.ndarray]], np.ndarray]


def column_sums(parts: Sequence[np.ndarray]) -> np.ndarray:
    """The plain sum of each part: the usual reduction."""
    return np.array([part.sum() for part in parts])


class BlockSums:
    """Totals of ``reduce(block)`` over fixed blocks of rows, *width* numbers each."""

    def __init__(
        self, columns: int, width: int, reduce: Reduce = column_sums, block_rows: int = BLOCK_ROWS
    ) -> None:
        self.columns, self.width, self.reduce, self.block_rows = columns, width, reduce, block_rows
        self.rows = 0
        self._totals = np.zeros(width)
        self._buffer = np.zeros((columns, 0))

    def add(self, parts: Sequence[np.ndarray]) -> None:
        """Add rows given as *columns* float64 arrays of one length."""
        parts = [np.ascontiguousarray(part, dtype=np.float64) for part in parts]
        n, start = (parts[0].size if parts else 0), 0
        while start < n:
            offset = self.rows % self.block_rows
            take = min(self.block_rows - offset, n - start)
            if take == self.block_rows:  # a whole block, from the chunk itself
                self._totals += self.reduce([part[start : start + take] for part in parts])
            else:
                if self._buffer.shape[1] < self.block_rows:
                    self._buffer = np.zeros((self.columns, self.block_rows))
                for column, part in zip(self._buffer, parts, strict=True):
                    column[offset : offset + take] = part[start : start + take]
                if offset + take == self.block_rows:
                    self._totals += self.reduce(list(self._buffer))
            self.rows += take
            start += take

    def totals(self) -> np.ndarray:
        """The totals of every row so far (the partial block's included)."""
        out: np.ndarray = self._totals.copy()
        filled = self.rows % self.block_rows
        if filled:
            out += self.reduce([column[:filled].copy() for column in self._buffer])
        return out
