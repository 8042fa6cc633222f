"""The evaluation's plot data (curves.py) drawn as PNG images, for the model card and DVC.

One image per plot, ``<name>.png``: the confusion matrix (counts in the cells, each actual
class's row coloured by its share of the row), the ROC and precision–recall curves, the
calibration curve (with the perfect-calibration diagonal and the rows per bin), the histogram
of a regression's errors and the scatter of its residuals against the predictions.

The images are deterministic: matplotlib's own defaults (never the user's matplotlibrc), a
fixed size and dpi, no ``Software`` text in the file, so two runs on the same data give the
same bytes and DVC sees no change where there is none. Labels come from the data: they are
drawn as plain text (no mathtext), on one line, at most MAX_LABEL characters, and at most
MAX_CLASSES classes of a confusion matrix are drawn (the title says how many are not).
Matplotlib is imported inside :func:`write_images`; it comes with the ``evaluate`` extra.
"""

from __future__ import annotations

import io
import math
import os
import secrets
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError

MAX_CLASSES = 15
MAX_LABEL = 30  # characters of a class label on an axis
MAX_TITLE = 40  # characters of the caller's title
MAX_SCATTER = 5_000  # points of a residuals scatter; more are thinned evenly
SIZE = (6.4, 4.8)  # inches
SQUARE = (5.6, 5.2)  # the matrix and the curves on [0, 1] x [0, 1]
DPI = 100
COLOURS = 256  # of the PNG's palette
EXTRA = "mlops-ci[evaluate]"

# The colours are the default cycle's first two: blue for the data, orange for a reference
BLUE, ORANGE, GREY = "#1f77b4", "#ff7f0e", "#7f7f7f"
RC: dict[str, Any] = {
    "text.parse_math": False,  # a label "$x$" is drawn as typed, and cannot fail to parse
    "text.usetex": False,
    "font.family": "DejaVu Sans",  # shipped with matplotlib: the same glyphs everywhere
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
    "path.simplify": True,
}

Records = Sequence[dict[str, Any]]


def write_images(
    plots: dict[str, list[dict[str, Any]]], out_dir: Path, *, title: str | None = None
) -> list[Path]:
    """Draw each plot of *plots* that has a drawing (the names of curves.py, and
    ``residuals``) as ``out_dir/<name>.png``; the files written, in the order of *plots*.

    *title*, when given, follows each image's title ("ROC curve: churn"). A plot without
    records is drawn as an empty chart that says so. Each file is replaced atomically.
    """
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise InputError(
            f"Drawing the evaluation's plots needs matplotlib, which is not installed. Install "
            f"it with: pip install '{EXTRA}' (or pass --no-images)."
        ) from exc

    suffix = f": {clip(title, MAX_TITLE)}" if title and clip(title, MAX_TITLE) else ""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with matplotlib.rc_context(), warnings.catch_warnings():
        matplotlib.rcdefaults()  # matplotlib's defaults, not a matplotlibrc's
        params: Any = matplotlib.rcParams  # typed by key names; RC's are checked by the tests
        params.update(RC)
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from font")
        # labels too wide for the figure (30 wide glyphs) are cut at its edge: still an image
        warnings.filterwarnings("ignore", message=r"Tight layout not applied")
        for name, records in plots.items():
            draw = DRAWINGS.get(name)
            if draw is None:
                continue
            fig = Figure(figsize=SQUARE if name in SQUARE_PLOTS else SIZE, dpi=DPI)
            canvas = FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            heading, note = draw(fig, ax, [r for r in records if isinstance(r, dict)])
            ax.set_title(heading + suffix + (f"\n{note}" if note else ""))
            fig.tight_layout()
            path = out_dir / f"{name}.png"
            _replace(path, _png(canvas))
            written.append(path)
    return written


def _png(canvas: Any) -> bytes:
    """The figure as a PNG of at most COLOURS colours (a third of the bytes of full colour,
    for plots drawn in a handful of colours), with no text chunk: no version, no date."""
    from PIL import Image

    canvas.draw()
    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    flat = image.convert("RGB").quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT,
                                         dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    flat.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _replace(path: Path, data: bytes) -> None:
    """Write *data* to *path* through a new file renamed over it (never through a symlink),
    with the permissions any new file gets (the umask's)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --- text and numbers from the records ---


def clip(value: object, limit: int = MAX_LABEL, *, middle: bool = False) -> str:
    """*value* as one line of printable text, at most *limit* characters (… when cut; with
    *middle*, in the middle, so that labels that share a long prefix stay apart)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if middle:
        head = (limit - 1) // 2
        return text[:head] + "…" + text[len(text) - (limit - 1 - head):]
    return text[: limit - 1] + "…"


def number(value: Any) -> float | None:
    """A finite number, or None (a bool, None, text and NaN are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def points(records: Records, x: str, y: str) -> tuple[list[float], list[float]]:
    """The (x, y) pairs of *records* where both are finite numbers."""
    xs, ys = [], []
    for record in records:
        a, b = number(record.get(x)), number(record.get(y))
        if a is not None and b is not None:
            xs.append(a)
            ys.append(b)
    return xs, ys


def compact(count: float) -> str:
    """A count short enough for a cell: 987, 9,876, 98.8k, 1M, 9.88M."""
    if count < 10_000:
        return f"{count:,.0f}"
    for scale, unit in ((1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")):
        text = f"{count / scale:.3g}"
        if float(text) < 1000:
            return text + unit
    return f"{count:.3g}"


def _no_data(ax: Any) -> None:
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes,
            color=GREY, fontsize=14)


# --- the confusion matrix ---


def confusion_layout(records: Records) -> tuple[list[str], list[list[float]], int]:
    """(labels drawn, counts by actual then predicted, classes not drawn).

    Labels keep the records' order (curves.py writes them in label order); past MAX_CLASSES,
    the classes with the most rows (actual plus predicted) are kept. A label longer than
    MAX_LABEL is cut in its middle. A record without a count counts one row (DVC's
    one-record-per-row data); one with a count that is not a number >= 0 is left out.
    """
    order: dict[str, None] = {}
    cells: dict[tuple[str, str], float] = {}
    for record in records:
        if "actual" not in record or "predicted" not in record:
            continue
        actual, predicted = str(record["actual"]), str(record["predicted"])
        count = number(record.get("count", 1))
        if count is None or count < 0:
            continue
        order.setdefault(actual)
        order.setdefault(predicted)
        cells[actual, predicted] = cells.get((actual, predicted), 0.0) + count
    labels = list(order)
    if len(labels) > MAX_CLASSES:
        rows: dict[str, float] = dict.fromkeys(labels, 0.0)
        for (actual, predicted), count in cells.items():
            rows[actual] += count
            rows[predicted] += count
        ranked = sorted(labels, key=lambda label: -rows[label])  # stable: ties keep order
        kept = set(ranked[:MAX_CLASSES])
        labels = [label for label in labels if label in kept]
    matrix = [[cells.get((a, p), 0.0) for p in labels] for a in labels]
    return [clip(label, middle=True) for label in labels], matrix, len(order) - len(labels)


def _confusion(fig: Any, ax: Any, records: Records) -> tuple[str, str | None]:
    labels, matrix, omitted = confusion_layout(records)
    note = f"(+{omitted} more classes not shown)" if omitted else None
    ax.grid(False)
    if not labels:
        _no_data(ax)
        return "Confusion matrix", note
    shares = [[c / sum(row) if sum(row) else 0.0 for c in row] for row in matrix]
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    colorbar.set_label("share of the actual class's rows")
    size = 10 if len(labels) <= 6 else 8 if len(labels) <= 10 else 6
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, compact(count), ha="center", va="center", fontsize=size,
                    color="white" if shares[i][j] > 0.5 else "black")
    ticks = range(len(labels))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    long = len(labels) > 4 or max(len(label) for label in labels) > 6
    ax.set_xticklabels(labels, rotation=45 if long else 0, ha="right" if long else "center",
                       rotation_mode="anchor", fontsize=max(size, 7))
    ax.set_yticklabels(labels, fontsize=max(size, 7))
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Actual")
    return "Confusion matrix", note


# --- curves ---


def _unit_square(ax: Any, x_label: str, y_label: str, *, equal: bool = True) -> None:
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    if equal:  # not for a twinned axes (calibration's rows), which matplotlib refuses
        ax.set_aspect("equal")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)


def _roc(fig: Any, ax: Any, records: Records) -> tuple[str, str | None]:
    fpr, tpr = points(records, "fpr", "tpr")
    ax.plot([0, 1], [0, 1], linestyle="--", color=GREY, linewidth=1, label="chance")
    if fpr:
        ax.plot(fpr, tpr, color=BLUE, linewidth=2, label="model")
        ax.legend(loc="lower right")
    else:
        _no_data(ax)
    _unit_square(ax, "False positive rate", "True positive rate")
    return "ROC curve", None


def _precision_recall(fig: Any, ax: Any, records: Records) -> tuple[str, str | None]:
    recall, precision = points(records, "recall", "precision")
    if recall:
        ax.plot(recall, precision, color=BLUE, linewidth=2, drawstyle="steps-post")
    else:
        _no_data(ax)
    _unit_square(ax, "Recall", "Precision")
    return "Precision–recall curve", None


def _calibration(fig: Any, ax: Any, records: Records) -> tuple[str, str | None]:
    predicted, observed = points(records, "mean_predicted", "fraction_positive")
    ax.plot([0, 1], [0, 1], linestyle="--", color=GREY, linewidth=1,
            label="perfectly calibrated")
    bins = [
        (low, high, count) for low, high, count in (
            (number(r.get("low")), number(r.get("high")), number(r.get("count")))
            for r in records
        ) if low is not None and high is not None and count is not None and high > low
    ]
    if bins:
        rows = ax.twinx()
        rows.bar([b[0] for b in bins], [b[2] for b in bins], width=[b[1] - b[0] for b in bins],
                 align="edge", color=ORANGE, alpha=0.25, edgecolor=ORANGE, linewidth=0.5)
        rows.set_ylabel("rows in the bin", color=ORANGE)
        rows.tick_params(axis="y", colors=ORANGE)
        rows.grid(False)
        rows.set_ylim(0, max(b[2] for b in bins) * 3 or 1)  # the bars stay in the lower third
        ax.set_zorder(rows.get_zorder() + 1)
        ax.patch.set_visible(False)
    if predicted:
        ax.plot(predicted, observed, color=BLUE, linewidth=2, marker="o", label="model")
    else:
        _no_data(ax)
    ax.legend(loc="upper left")
    _unit_square(ax, "Mean predicted probability", "Fraction of positives", equal=False)
    return "Calibration", None


# --- regression ---


def _errors(fig: Any, ax: Any, records: Records) -> tuple[str, str | None]:
    bins = [
        (low, high, count) for low, high, count in (
            (number(r.get("low")), number(r.get("high")), number(r.get("count")))
            for r in records
        ) if low is not None and high is not None and count is not None and high >= low
    ]
    if bins:
        ax.bar([b[0] for b in bins], [b[2] for b in bins],
               width=[(b[1] - b[0]) or 1e-12 for b in bins], align="edge", color=BLUE,
               edgecolor="white", linewidth=0.5)
        low, high = min(b[0] for b in bins), max(b[1] for b in bins)
        if low <= 0 <= high:
            ax.axvline(0, color=ORANGE, linestyle="--", linewidth=1)
    else:
        _no_data(ax)
    ax.set_xlabel("Error (predicted − actual)")
    ax.set_ylabel("Rows")
    return "Error histogram", None


def thin(items: Sequence[Any], limit: int) -> list[Any]:
    """At most *limit* of *items*, evenly spaced, the first and last kept."""
    if len(items) <= limit:
        return list(items)
    if limit < 2:
        return list(items[:limit])
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]


def _residuals(fig: Any, ax: Any, records: Records) -> tuple[str, str | None]:
    predicted, residual = points(thin(records, MAX_SCATTER), "predicted", "residual")
    if predicted:
        ax.scatter(predicted, residual, s=8, color=BLUE, alpha=0.5, linewidths=0)
        ax.axhline(0, color=ORANGE, linestyle="--", linewidth=1)
    else:
        _no_data(ax)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("Residual")
    return "Residuals against predictions", None


# each draws on (figure, axes) and returns the title and a second line for it (or None)
DRAWINGS: dict[str, Callable[[Any, Any, Records], tuple[str, str | None]]] = {
    "confusion": _confusion,
    "roc": _roc,
    "precision_recall": _precision_recall,
    "calibration": _calibration,
    "errors": _errors,
    "residuals": _residuals,
}
SQUARE_PLOTS = frozenset({"confusion", "roc", "precision_recall", "calibration"})


def image_names(plots: Iterable[str]) -> list[str]:
    """The file names :func:`write_images` writes for the plots named *plots*."""
    return [f"{name}.png" for name in plots if name in DRAWINGS]
