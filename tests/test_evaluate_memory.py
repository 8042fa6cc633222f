"""What keeps `mlops-ci evaluate`'s memory bounded, checked for what it must not change: the
parquet reader's bounded buffer (chunks of the asked size from large row groups, every value
as written) and glibc's fixed mmap threshold."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlops_ci.evaluation import heap
from mlops_ci.predict_chunks import read_chunks


def test_parquet_chunks_from_large_row_groups_hold_every_value(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=30_000),
            "label": rng.integers(0, 2, 30_000),
            "sex": rng.choice(["female", "male", None], 30_000),
            "unused": rng.normal(size=30_000),
        }
    )
    path = tmp_path / "test.parquet"
    # row groups larger than the chunks, and not a multiple of them
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=12_345)
    chunks = list(read_chunks(path, 1_000, ["sex", "a", "label"]))
    assert {len(c) for c in chunks[:-1]} == {1_000}
    assert sum(len(c) for c in chunks) == len(frame)
    read = pd.concat(chunks, ignore_index=True)
    assert list(read.columns) == ["sex", "a", "label"]
    pd.testing.assert_frame_equal(read, frame[["sex", "a", "label"]])


def test_the_mmap_threshold_is_set_under_glibc() -> None:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip(f"mallopt's M_MMAP_THRESHOLD is glibc's; this is {platform.libc_ver()}")
    assert heap.map_large_arrays() is True
    assert heap.map_large_arrays() is True  # once set, a second call changes nothing
