"""A streaming histogram with bounded bins, whatever the range, independent of chunking.

Bins are ``[k·w, (k+1)·w)`` with ``w`` a power of two. When a value falls outside what at most
``MAX_BINS`` bins cover, ``w`` doubles and pairs of bins merge (the grids are nested, so no
count moves across a bin edge). Every value is in exactly one bin, and the final width is the
smallest power of two at which the whole range fits (unless the range is below 2**-34 of the
first values' magnitude), so the result does not depend on how the rows were cut into chunks.
"""

from __future__ import annotations

import math

import numpy as np

MAX_BINS = 64
FINEST = 40


class Histogram:
    def __init__(self, max_bins: int = MAX_BINS) -> None:
        self.max_bins = max_bins
        self.exponent: int | None = None  # w = 2**exponent
        self.first = 0  # the index k of counts[0]
        self.counts = np.zeros(0, dtype=np.int64)

    def update(self, values: np.ndarray) -> None:
        if len(values) == 0:
            return
        low, high = float(values.min()), float(values.max())
        if self.exponent is None:
            # far finer than any range needs (2**-40 of the values' magnitude), so that the
            # doubling below settles on the smallest width that fits, whatever came first
            scale = max(abs(low), abs(high)) or 1.0
            self.exponent = max(math.floor(math.log2(scale)) - FINEST, -1000)  # no underflow
            self.first = math.floor(low / 2.0**self.exponent)
            self.counts = np.zeros(1, dtype=np.int64)
        while True:
            width = 2.0**self.exponent
            k_low = min(self.first, math.floor(low / width))
            k_high = max(self.first + len(self.counts) - 1, math.floor(high / width))
            if k_high - k_low + 1 <= self.max_bins:
                break
            self._coarsen()
        self._extend(k_low, k_high)
        ks = np.floor(values / width).astype(np.int64) - self.first
        self.counts += np.bincount(ks, minlength=len(self.counts))

    def _extend(self, k_low: int, k_high: int) -> None:
        before = self.first - k_low
        after = k_high - (self.first + len(self.counts) - 1)
        if before or after:
            self.counts = np.r_[np.zeros(before, np.int64), self.counts, np.zeros(after, np.int64)]
            self.first = k_low

    def _coarsen(self) -> None:
        assert self.exponent is not None
        ks = np.arange(self.first, self.first + len(self.counts)) // 2
        new_first = int(ks[0])
        merged = np.bincount(ks - new_first, weights=self.counts).astype(np.int64)
        self.exponent += 1
        self.first, self.counts = new_first, merged

    def bins(self) -> list[dict[str, float | int]]:
        """``[{"low", "high", "count"}]`` from the lowest to the highest non-empty bin."""
        if self.exponent is None:
            return []
        nonzero = np.flatnonzero(self.counts)
        width = 2.0**self.exponent
        return [
            {
                "low": (self.first + int(i)) * width,
                "high": (self.first + int(i) + 1) * width,
                "count": int(self.counts[i]),
            }
            for i in range(int(nonzero[0]), int(nonzero[-1]) + 1)
        ]
