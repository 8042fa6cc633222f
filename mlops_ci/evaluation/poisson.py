"""Seeded Poisson(1) bootstrap weights that do not depend on how the rows are chunked.

Two ways to draw them, both functions of the seed and of the data only:

- per row (:func:`row_block_weights`): the rows are cut into blocks of :data:`BLOCK_ROWS`
  rows counted from the first row, and block *k* draws its ``BLOCK_ROWS x B`` weights from a
  generator of its own, seeded by ``SeedSequence(seed, spawn_key=(0, k))`` (what ``spawn``
  gives, a stream per block). Row *i* always gets the same *B* weights,
  whatever the chunk it arrived in. Poisson(1) is drawn by inverting its distribution
  function on a 32-bit uniform integer (exact to 2**-32; about twice numpy's ``poisson``);
- per cell (:func:`cell_weights`): when the statistic is a table of counts, the weighted count
  of a cell of *n* rows is a sum of *n* independent Poisson(1) weights, which is exactly
  Poisson(n), and cells hold disjoint rows, so they are independent. Drawing one Poisson(n)
  per cell and replicate gives the same bootstrap distribution as drawing every row's weight,
  in O(B x cells) instead of O(B x rows).

numpy is imported here; this module is never imported by ``mlops-ci --help``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

BLOCK_ROWS = 1024
SUB_ROWS = 64  # a block's weights are drawn and used this many rows at a time
# SeedSequence spawn keys of the two kinds of draws, so that they never share a stream.
_ROW_STREAM = 0
_CELL_STREAM = 1


def _inverse_table() -> tuple[np.ndarray, np.ndarray]:
    """The thresholds of Poisson(1)'s distribution function on 32-bit integers, and a table
    from the top 16 bits to the weight (-1 where a threshold falls inside those 65536 values).
    """
    cdf = np.cumsum([math.exp(-1.0) / math.factorial(k) for k in range(20)])
    thresholds = np.minimum(np.floor(cdf * 2.0**32), 2.0**32).astype(np.uint64)
    low = np.arange(65536, dtype=np.uint64) << np.uint64(16)
    k_low = np.searchsorted(thresholds, low, side="right")
    k_high = np.searchsorted(thresholds, low + np.uint64(65535), side="right")
    table = np.where(k_low == k_high, k_low, -1).astype(np.float64)
    return thresholds, table


_THRESHOLDS, _TABLE = _inverse_table()


def poisson1(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Poisson(1) draws of *shape* as float64, by inversion of 32-bit uniform integers."""
    u = rng.integers(0, 2**32, size=shape, dtype=np.uint32)
    weights: np.ndarray = _TABLE[u >> np.uint32(16)]
    ambiguous = np.flatnonzero(weights < 0)  # about 8 in 65536 draws
    if ambiguous.size:
        weights.flat[ambiguous] = np.searchsorted(
            _THRESHOLDS, u.flat[ambiguous].astype(np.uint64), side="right"
        )
    return weights


def row_block_weights(
    seed: int, block: int, replicates: int, rows: int = BLOCK_ROWS
) -> Iterator[np.ndarray]:
    """The weights of the first *rows* rows of block *block* (rows ``block*BLOCK_ROWS`` on),
    one row each, as arrays of :data:`SUB_ROWS` x *replicates* (the last one cut to *rows*),
    small enough to stay in cache. The same for the same *seed* and *block*, always."""
    sequence = np.random.SeedSequence(seed, spawn_key=(_ROW_STREAM, block))
    rng = np.random.Generator(np.random.PCG64(sequence))
    for start in range(0, rows, SUB_ROWS):
        yield poisson1(rng, (SUB_ROWS, replicates))[: rows - start]


def cell_weights(seed: int, counts: np.ndarray, replicates: int) -> np.ndarray:
    """Weighted counts of cells holding *counts* rows: shape ``(replicates, len(counts))``,
    Poisson(count) each, independent — the per-row Poisson bootstrap, summed per cell."""
    sequence = np.random.SeedSequence(seed, spawn_key=(_CELL_STREAM,))
    rng = np.random.Generator(np.random.PCG64(sequence))
    counts = np.asarray(counts, dtype=np.float64)
    return rng.poisson(counts, size=(replicates, counts.size)).astype(np.float64)
