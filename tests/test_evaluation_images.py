"""mlops_ci/evaluation/images.py: the plot data of curves.py drawn as small, deterministic PNGs.

The data comes from the real accumulators; the images are opened with Pillow (which matplotlib
brings) to check what a reader would see: the size, that something dark is drawn, and that the
file carries no text chunk (no version, no date).
"""

from __future__ import annotations

import os
import stat
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import run_without
from mlops_ci.evaluation.curves import plots
from mlops_ci.evaluation.images import (
    MAX_CLASSES,
    MAX_LABEL,
    compact,
    confusion_layout,
    image_names,
    write_images,
)
from mlops_ci.evaluation.metrics import (
    BinaryAccumulator,
    MulticlassAccumulator,
    RegressionAccumulator,
)

MAX_BYTES = 60_000


def binary_plots(n: int = 5_000) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, n)
    s = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    acc = BinaryAccumulator()
    acc.update(y, (s > 0.5).astype(int), s)
    return plots(acc)


def regression_plots(n: int = 3_000) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    rng = np.random.default_rng(2)
    y = rng.normal(10, 3, n)
    pred = y + rng.normal(0.3, 1.0, n)
    acc = RegressionAccumulator()
    acc.update(y, pred)
    out = plots(acc)
    out["residuals"] = [{"predicted": float(p), "actual": float(a), "residual": float(a - p)}
                        for p, a in zip(pred, y, strict=True)]
    return out


def chunks(data: bytes) -> list[bytes]:
    """The chunk types of a PNG, checking its signature and every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    types, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind = data[at + 4:at + 8]
        (crc,) = struct.unpack(">I", data[at + 8 + length:at + 12 + length])
        assert zlib.crc32(kind + data[at + 8:at + 8 + length]) == crc
        types.append(kind)
        at += 12 + length
    return types


def dark_share(path: Path) -> float:
    """The share of pixels darker than mid-grey: lines, text, filled cells."""
    from PIL import Image

    with Image.open(path) as image:
        grey = np.asarray(image.convert("L"))
    return float((grey < 128).mean())


def test_every_plot_of_a_binary_model_is_a_small_png_with_no_text_chunk(tmp_path: Path) -> None:
    data = binary_plots()
    assert set(data) == {"confusion", "roc", "precision_recall", "calibration"}
    paths = write_images(data, tmp_path / "plots", title="churn")
    assert [p.name for p in paths] == image_names(data) == [f"{n}.png" for n in data]
    from PIL import Image

    for path in paths:
        raw = path.read_bytes()
        assert len(raw) < MAX_BYTES, (path.name, len(raw))
        types = chunks(raw)
        assert types[0] == b"IHDR" and types[-1] == b"IEND"
        assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(types), (path.name, types)
        with Image.open(path) as image:
            assert image.size[0] >= 500 and image.size[1] >= 450
        # not blank and not pale: axes, labels and the data are drawn in dark ink
        assert dark_share(path) > 0.005, path.name
    # a confusion matrix of two balanced classes: the diagonal cells are filled dark
    assert dark_share(tmp_path / "plots" / "confusion.png") > 0.15


def test_a_multiclass_model_draws_its_confusion_matrix(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    names = np.array(["setosa", "versicolor", "virginica"])
    y = rng.integers(0, 3, 900)
    pred = np.where(rng.random(900) < 0.8, y, rng.integers(0, 3, 900))
    acc = MulticlassAccumulator()
    acc.update(names[y], names[pred])
    data = plots(acc)
    assert set(data) == {"confusion"}
    labels, matrix, _ = confusion_layout(data["confusion"])
    assert labels == list(names) and sum(map(sum, matrix)) == 900
    (path,) = write_images(data, tmp_path)
    assert len(path.read_bytes()) < MAX_BYTES and dark_share(path) > 0.1


def test_regression_draws_the_errors_and_the_residuals(tmp_path: Path) -> None:
    paths = write_images(regression_plots(), tmp_path)
    assert [p.name for p in paths] == ["errors.png", "residuals.png"]
    for path in paths:
        assert len(path.read_bytes()) < MAX_BYTES and dark_share(path) > 0.005


def test_two_runs_and_another_process_write_the_same_bytes(tmp_path: Path) -> None:
    data = {**binary_plots(), **regression_plots()}
    first = {p.name: p.read_bytes() for p in write_images(data, tmp_path / "a", title="m")}
    second = {p.name: p.read_bytes() for p in write_images(data, tmp_path / "b", title="m")}
    assert first == second and len(first) == 6
    import json

    (tmp_path / "data.json").write_text(json.dumps(data))
    code = (
        "import json, pathlib\n"
        "from mlops_ci.evaluation.images import write_images\n"
        f"data = json.loads(pathlib.Path({str(tmp_path / 'data.json')!r}).read_text())\n"
        f"write_images(data, pathlib.Path({str(tmp_path / 'c')!r}), title='m')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
    third = {p.name: p.read_bytes() for p in (tmp_path / "c").iterdir()}
    assert third == first
    # another title is another image: the bytes do depend on what is drawn
    other = write_images({"roc": data["roc"]}, tmp_path / "d", title="other")
    assert other[0].read_bytes() != first["roc.png"]


def test_the_callers_matplotlib_settings_neither_change_the_image_nor_are_changed(
    tmp_path: Path,
) -> None:
    import matplotlib

    data = {"roc": binary_plots()["roc"]}
    plain = write_images(data, tmp_path / "a")[0].read_bytes()
    with matplotlib.rc_context({"lines.linewidth": 9.0, "axes.facecolor": "black",
                                "font.size": 30.0}):
        styled = write_images(data, tmp_path / "b")[0].read_bytes()
        assert matplotlib.rcParams["lines.linewidth"] == 9.0  # restored afterwards
        assert matplotlib.rcParams["text.parse_math"] is True
    assert styled == plain


def test_a_confusion_matrix_sums_counts_and_keeps_the_largest_classes() -> None:
    # 20 classes; class k has k + 1 rows on the diagonal, one record per cell, and a DVC-style
    # record without a count (one row) in the mix
    records = [{"actual": f"c{k}", "predicted": f"c{j}", "count": (k + 1) if j == k else 0}
               for k in range(20) for j in range(20)]
    records.append({"actual": "c19", "predicted": "c19"})
    records.append({"actual": "c18", "predicted": "c19", "count": "lots"})  # not a number
    labels, matrix, omitted = confusion_layout(records)
    assert omitted == 20 - MAX_CLASSES == 5
    assert labels == [f"c{k}" for k in range(5, 20)]  # the largest, in the records' order
    assert matrix[-1][-1] == 21 and matrix[0][0] == 6
    assert sum(map(sum, matrix)) == sum(range(6, 21)) + 1


def test_long_labels_are_cut_in_the_middle_and_stay_apart() -> None:
    prefix = "an extremely long and repetitive class name number "
    records = [{"actual": prefix + a, "predicted": prefix + p, "count": 1}
               for a in "xy" for p in "xy"]
    records.append({"actual": "two\nlines\x00", "predicted": "two\nlines\x00", "count": 3})
    labels, matrix, omitted = confusion_layout(records)
    assert omitted == 0 and len(labels) == 3
    assert all(len(label) <= MAX_LABEL for label in labels)
    assert labels[0].endswith("number x") and labels[1].endswith("number y") and "…" in labels[0]
    assert labels[2] == "two lines"
    assert matrix == [[1, 1, 0], [1, 1, 0], [0, 0, 3]]


def test_hostile_labels_are_drawn_as_text(tmp_path: Path) -> None:
    # with mathtext on, "$\frac{" fails to parse and "$x^{2}$" is typeset: both are plain here
    labels = ["$\\frac{", "$x^{2}$", "\\usepackage", "😀" * 50, "a" * 10_000, "<b>x</b>"]
    records = [{"actual": a, "predicted": p, "count": 7} for a in labels for p in labels]
    (path,) = write_images({"confusion": records}, tmp_path, title="$\\frac{" + "t" * 500)
    assert len(path.read_bytes()) < MAX_BYTES and dark_share(path) > 0.01


def test_missing_and_broken_records_give_an_image_that_says_no_data(tmp_path: Path) -> None:
    data = {
        "roc": [],
        "precision_recall": [{"recall": None, "precision": float("nan")}, "not a record"],
        "calibration": [{"mean_predicted": True, "fraction_positive": 0.5}],
        "errors": [{"low": 1.0, "high": 0.0, "count": 5}],
        "residuals": [{"predicted": "1", "residual": 2}],
        "confusion": [{"actual": "a"}],
        "importance": [{"x": 1}],  # no drawing: left out
    }
    paths = write_images(data, tmp_path)  # type: ignore[arg-type]
    assert [p.name for p in paths] == [f"{n}.png" for n in list(data)[:-1]]
    assert not (tmp_path / "importance.png").exists()


def test_an_image_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    plots_dir = tmp_path / "plots"
    plots_dir.mkdir()
    (plots_dir / "roc.png").symlink_to(outside)
    (path,) = write_images({"roc": binary_plots()["roc"]}, plots_dir)
    assert outside.read_text() == "keep me"
    assert not path.is_symlink() and chunks(path.read_bytes())[0] == b"IHDR"
    assert sorted(p.name for p in plots_dir.iterdir()) == ["roc.png"]  # no temporary left
    old = os.umask(0o022)
    try:
        (again,) = write_images({"roc": []}, plots_dir)
    finally:
        os.umask(old)
    assert stat.S_IMODE(again.stat().st_mode) == 0o644  # what any new file gets, not 0600


def test_without_matplotlib_the_error_names_the_extra(tmp_path: Path) -> None:
    code = (
        "from pathlib import Path\n"
        "from mlops_ci.errors import InputError\n"
        "from mlops_ci.evaluation.images import write_images\n"
        "try:\n"
        "    write_images({'roc': []}, Path('out'))\n"
        "except InputError as exc:\n"
        "    print(exc)\n"
    )
    out = run_without(["matplotlib"], code, cwd=tmp_path)
    assert "needs matplotlib" in out and "mlops-ci[evaluate]" in out and "--no-images" in out
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("count", "text"), [
    (0, "0"), (987, "987"), (9_876, "9,876"), (98_765, "98.8k"), (9_876_543, "9.88M"),
    (999_999, "1M"), (12_345_678_901, "12.3G"),
])
def test_cell_counts_are_compact(count: int, text: str) -> None:
    assert compact(count) == text


def test_the_module_imports_no_plotting_library() -> None:
    code = ("import sys, mlops_ci.evaluation.images\n"
            "print(sorted(m for m in ('matplotlib', 'PIL', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"

