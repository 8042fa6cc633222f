"""Seeded Poisson(1) bootstrap weights that do not depend on how the rows are chunked.

Two ways to use them, both functions of the seed and of the data only:

- per random group (:func:`row_groups`, :func:`group_weights`), for sums: the rows are cut
  into blocks of ``BLOCK_GROUPS x G`` rows counted from the first row, and block *k* gives
  each of its rows one of *G* groups, uniformly and independently, from a generator of its
  own seeded by ``SeedSequence(seed, spawn_key=(2, k))`` (what ``spawn`` gives, a stream per
  block). Row *i* is always in the same group, whatever the chunk it arrived in. At the end
  every group gets *B* Poisson(1) weights, one per replicate, from the stream
  ``SeedSequence(seed, spawn_key=(3,))``, :data:`GROUP_TILE` groups at a time; group *g*'s
  weights depend on the seed, *B* and *g* only. With at most *G* rows every row is a group
  of its own: the per-row Poisson bootstrap;
- per cell (:func:`cell_weights`): when the statistic is a table of counts, the weighted count
  of a cell of *n* rows is a sum of *n* independent Poisson(1) weights, which is exactly
  Poisson(n), and cells hold disjoint rows, so they are independent. Drawing one Poisson(n)
  per cell and replicate gives the same bootstrap distribution as drawing every row's weight,
  in O(B x cells) instead of O(B x rows).

Poisson(1) is drawn by inverting its distribution function on a 32-bit uniform integer
(exact to 2**-32; several times faster than numpy's ``poisson``).
numpy is imported here; this module is never imported by ``mlops-ci --help``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

GROUPS = 16_384  # random groups of a regression bootstrap (the default G)
MIN_GROUPS = 100
BLOCK_GROUPS = 4  # a block of rows holds this many rows per group, on average
GROUP_TILE = 128  # group weights are drawn and used this many groups at a time
# SeedSequence spawn keys of the kinds of draws, so that they never share a stream
# (0 was the per-row weights of mlops-ci before random groups).
_CELL_STREAM = 1
_GROUP_STREAM = 2
_GROUP_WEIGHT_STREAM = 3


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
    """Poisson(1) draws of *shape* as float64, by inversion of 32-bit uniform integers.

    The top 16 bits are drawn for every weight and give it through the table; the low 16
    bits are drawn only where a threshold falls inside those 65536 values (about 8 in
    65536 draws), which is the same distribution as drawing all 32 bits, at half the bits.
    """
    high = rng.integers(0, 2**16, size=shape, dtype=np.uint16)
    weights: np.ndarray = _TABLE[high]
    ambiguous = np.flatnonzero(weights < 0)
    if ambiguous.size:
        low = rng.integers(0, 2**16, size=ambiguous.size, dtype=np.uint16).astype(np.uint64)
        u = (high.flat[ambiguous].astype(np.uint64) << np.uint64(16)) | low
        weights.flat[ambiguous] = np.searchsorted(_THRESHOLDS, u, side="right")
    return weights


def row_groups(seed: int, block: int, groups: int) -> np.ndarray:
    """The groups (0 to *groups* - 1) of the ``BLOCK_GROUPS x groups`` rows of block *block*
    (rows ``block x BLOCK_GROUPS x groups`` on), each drawn uniformly and independently.
    The same for the same *seed*, *block* and *groups*, always."""
    sequence = np.random.SeedSequence(seed, spawn_key=(_GROUP_STREAM, block))
    rng = np.random.Generator(np.random.PCG64(sequence))
    return rng.integers(0, groups, size=BLOCK_GROUPS * groups, dtype=np.intp)


def group_weights(seed: int, replicates: int, groups: int) -> Iterator[np.ndarray]:
    """The Poisson(1) weights of groups 0 to *groups* - 1 in *replicates* replicates, as
    arrays of *replicates* x :data:`GROUP_TILE` (the last one cut to the groups left), small
    enough to stay in cache. Group *g*'s weights are the same for every *groups* > g."""
    sequence = np.random.SeedSequence(seed, spawn_key=(_GROUP_WEIGHT_STREAM,))
    rng = np.random.Generator(np.random.PCG64(sequence))
    for start in range(0, groups, GROUP_TILE):
        yield poisson1(rng, (replicates, GROUP_TILE))[:, : groups - start]


def cell_weights(seed: int, counts: np.ndarray, replicates: int) -> np.ndarray:
    """Weighted counts of cells holding *counts* rows: shape ``(replicates, len(counts))``,
    Poisson(count) each, independent — the per-row Poisson bootstrap, summed per cell."""
    sequence = np.random.SeedSequence(seed, spawn_key=(_CELL_STREAM,))
    rng = np.random.Generator(np.random.PCG64(sequence))
    counts = np.asarray(counts, dtype=np.float64)
    return rng.poisson(counts, size=(replicates, counts.size)).astype(np.float64)
