"""A bounded, seeded sample of a regression's rows for the residuals plot.

A residuals plot of ten million points is neither drawable nor useful; a uniform sample of at
most :data:`MAX_ROWS` rows shows the same shape. Each row gets a pseudo-random key from its
position in the test table and the seed alone (splitmix64, a counter-based generator), and the
sample is the rows with the smallest keys: a uniform sample without replacement that does not
depend on how the rows were cut into chunks, and that only needs one chunk and the sample in
memory. The same rows and seed give the same sample.

Records are ``{"predicted", "actual", "residual"}`` with ``residual = actual - predicted``, in
the rows' order (the shape ``dvc plots`` reads: a scatter of residual against predicted).
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_ROWS = 1000
_MASK = (1 << 64) - 1


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, element-wise on uint64 (wrapping arithmetic)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return np.asarray(z ^ (z >> np.uint64(31)), dtype=np.uint64)


def row_keys(rows: np.ndarray, seed: int) -> np.ndarray:
    """Each row position's key: uniform on the uint64 range, a function of (row, seed) only."""
    offset = int(_mix(np.array([seed & _MASK], dtype=np.uint64))[0])
    z = np.asarray(rows, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(offset)
    return _mix(z)


class ResidualSample:
    """The rows with the *size* smallest keys among those seen, kept chunk by chunk."""

    def __init__(self, size: int = MAX_ROWS, seed: int = 0) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self.size, self.seed = size, seed
        self.keys = np.zeros(0, dtype=np.uint64)
        self.rows = np.zeros(0, dtype=np.int64)
        self.actual = np.zeros(0)
        self.predicted = np.zeros(0)

    def update(self, rows: Any, actual: Any, predicted: Any) -> None:
        """One chunk: the rows' 0-based positions, their targets and predictions."""
        rows = np.asarray(rows, dtype=np.int64)
        new_keys = row_keys(rows, self.seed)
        # Only keys at or below the bound can be among the smallest: the sample's largest key
        # once it is full, else the chunk's own size-th smallest (ties kept, so that the exact
        # choice below sees every candidate). Most of a chunk is dropped here, without sorting.
        bound = None
        if self.keys.size >= self.size:
            bound = self.keys.max()
        elif new_keys.size > self.size:
            bound = np.partition(new_keys, self.size - 1)[self.size - 1]
        if bound is not None:
            chosen = new_keys <= bound
            if not chosen.any():
                return
            rows, new_keys = rows[chosen], new_keys[chosen]
            actual, predicted = np.asarray(actual)[chosen], np.asarray(predicted)[chosen]
        keys = np.concatenate([self.keys, new_keys])
        every = np.concatenate([self.rows, rows])
        actual = np.concatenate([self.actual, np.asarray(actual, dtype=np.float64)])
        predicted = np.concatenate([self.predicted, np.asarray(predicted, dtype=np.float64)])
        if keys.size > self.size:
            # the smallest (key, row) pairs: ties (rare) broken by the row, so that the choice
            # never depends on the order the rows arrived in
            keep = np.lexsort((every, keys))[: self.size]
        else:
            keep = np.arange(keys.size)
        self.keys, self.rows = keys[keep], every[keep]
        self.actual, self.predicted = actual[keep], predicted[keep]

    def records(self) -> list[dict[str, float]]:
        """The sample in the rows' order, as plot records."""
        order = np.argsort(self.rows, kind="stable")
        return [
            {"predicted": float(p), "actual": float(a), "residual": float(a - p)}
            for p, a in zip(self.predicted[order], self.actual[order], strict=True)
        ]
