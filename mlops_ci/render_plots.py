"""A Report's plots as GitHub markdown: Mermaid charts, confusion tables, image lists. Pure.

- A data series becomes a Mermaid ``xychart-beta`` chart, which GitHub draws: base and head
  are two lines in two colours (an init directive sets the palette; a legend line says which is
  which, since xychart has none). Its x-axis is numeric, and xychart spaces a line's values
  evenly over it, so the lines are drawn on an even grid of x: when the two revisions' x values
  differ, are uneven or are many, both are interpolated linearly onto GRID_POINTS values, and
  the caption says so.
- A confusion matrix becomes a table whose cells read ``base → head``.
- An image is named with changed/unchanged (by md5); in the model card file it is embedded by
  its path relative to the card, never through an image host.

Everything from the report is untrusted: names reach markdown through ``inert_text`` and a
chart only through :func:`mermaid_text`, which keeps letters, digits and a few signs. The
output is safe to publish as is, from a report anyone wrote; it is bounded by MAX_MARKDOWN.
"""

from __future__ import annotations

import math
import os
import posixpath
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from mlops_ci.plots import MAX_CLASSES, even_grid, resample, sort_labels
from mlops_ci.report import ConfusionMatrix, PlotDiff, PlotSeries, Report
from mlops_ci.security import inert_text

GRID_POINTS = 50  # x values a resampled chart is drawn on
MAX_MARKDOWN = 25_000  # characters of plots in one report.md (GitHub's comment limit is 65,536)
MAX_CHART_TEXT = 60  # characters of a title or axis label inside a chart

# (colour for the chart, the square that shows it in the legend): base, head per y field
PALETTE = [
    ("#ff7f0e", "🟧"), ("#1f77b4", "🟦"),
    ("#e6b800", "🟨"), ("#2ca02c", "🟩"),
    ("#8c564b", "🟫"), ("#9467bd", "🟪"),
    ("#333333", "⬛"), ("#d62728", "🟥"),
]
_CHART_SIGNS = frozenset(" _.,:/()+-=")


def mermaid_text(value: object) -> str:
    """Untrusted text for inside a chart's quotes: letters, digits and ``_.,:/()+-=`` only.

    No quote can end the string, no ``%%`` start a directive, no bracket or backtick reach
    Mermaid or markdown; what is dropped becomes a space.
    """
    text = "".join(ch if ch.isalnum() or ch in _CHART_SIGNS else " " for ch in str(value))
    text = " ".join(text.split())
    return (text[: MAX_CHART_TEXT - 1] + "…" if len(text) > MAX_CHART_TEXT else text) or "-"


def _decimals(values: Sequence[float]) -> int:
    """Decimals that show about four significant digits of the values' spread."""
    span = (max(values) - min(values)) if values else 0.0
    scale = span or max((abs(v) for v in values), default=0.0)
    if scale <= 0:
        return 0
    return min(max(3 - math.floor(math.log10(scale)), 0), 12)


def _number(value: float, decimals: int) -> str:
    """A number as Mermaid reads it: fixed point, never an exponent."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _base_name(report: Report) -> str:
    ref = report.base.ref
    return f"base ({ref})" if ref else "base"


def _is_even(xs: Sequence[float]) -> bool:
    if len(xs) < 3:
        return True
    step = (xs[-1] - xs[0]) / (len(xs) - 1)
    tolerance = abs(step) * 1e-6
    return step > 0 and all(abs(b - a - step) <= tolerance for a, b in pairwise(xs))


def _grid(lines: Sequence[PlotSeries]) -> tuple[list[float], bool]:
    """The x values to draw on, and whether the lines must be resampled onto them."""
    first = lines[0].x
    same = all(line.x == first for line in lines)
    if same and _is_even(first) and 2 <= len(first) <= GRID_POINTS:
        return list(first), False
    low = min(min(line.x) for line in lines)
    high = max(max(line.x) for line in lines)
    return even_grid(low, high, GRID_POINTS), True


def _series_md(plot: PlotDiff, report: Report) -> str:
    pairs: list[tuple[PlotSeries, str, int]] = []  # line, which revision, palette index
    names = list(dict.fromkeys([s.name for s in plot.head] + [s.name for s in plot.base]))
    for k, name in enumerate(names[: len(PALETTE) // 2]):
        for side, offset in (("base", 0), ("head", 1)):
            line = next((s for s in getattr(plot, side) if s.name == name), None)
            if line is not None and line.x:
                pairs.append((line, side, 2 * k + offset))
    if not pairs:
        return "_No data to draw._"
    lines = [line for line, _, _ in pairs]
    grid, resampled = _grid(lines)
    if len(grid) < 2:
        return f"_Every point has {inert_text(plot.x_label)} = {grid[0]:g}: nothing to draw._"
    values = [resample(line.x, line.y, grid) if resampled else line.y for line in lines]
    decimals = _decimals([v for ys in values for v in ys])
    x_decimals = _decimals(grid)
    palette = ", ".join(PALETTE[i][0] for _, _, i in pairs)
    chart = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%',
        "xychart-beta",
        f'    title "{mermaid_text(plot.title)}"',
        f'    x-axis "{mermaid_text(plot.x_label)}" {_number(grid[0], x_decimals)} --> '
        f"{_number(grid[-1], x_decimals)}",
        f'    y-axis "{mermaid_text(plot.y_label)}"',
        *(f"    line [{', '.join(_number(v, decimals) for v in ys)}]" for ys in values),
        "```",
    ]
    base_name = inert_text(_base_name(report))
    several = len(names) > 1
    legend = " · ".join(
        f"{PALETTE[i][1]} {base_name if side == 'base' else 'head'}"
        + (f" {inert_text(line.name)}" if several else "")
        for line, side, i in pairs
    )
    if not plot.base:
        legend += f"; no {base_name} data" + (" (see below)" if plot.note else " (new plot)")
    elif _same_at_both(pairs):
        legend += "; base and head are the same, so one line hides the other"
    return "\n".join([legend, "", *chart, "",
                      f"<sub>{_caption(plot, pairs, grid, resampled)}</sub>"])


# DVC's templates of unconnected points: a Mermaid line through them would draw a zigzag
SCATTER_TEMPLATES = ("scatter", "scatter_jitter")


def _scatter_md(plot: PlotDiff) -> str:
    """A scatter plot is not drawn: Mermaid has no scatter chart. Its size is said instead."""
    def points(side: list[PlotSeries]) -> str:
        return f"{sum(s.points for s in side):,}" if side else "no"

    return (
        f"_A scatter plot of {inert_text(plot.y_label)} against {inert_text(plot.x_label)}: "
        f"{points(plot.head)} points at head, {points(plot.base)} at base. Mermaid draws no "
        "scatter plots, so it is not drawn here; `dvc plots show` draws it, and an image plot "
        "of it, when dvc.yaml declares one, is listed with the plots._"
    )


def _same_at_both(pairs: list[tuple[PlotSeries, str, int]]) -> bool:
    """Every field has a base and a head line, and they are equal."""
    fields: dict[int, dict[str, PlotSeries]] = {}
    for line, side, index in pairs:
        fields.setdefault(index // 2, {})[side] = line
    return all(
        len(sides) == 2 and (sides["base"].x, sides["base"].y) == (sides["head"].x, sides["head"].y)
        for sides in fields.values()
    )


def _caption(
    plot: PlotDiff, pairs: list[tuple[PlotSeries, str, int]], grid: list[float], resampled: bool
) -> str:
    x = inert_text(plot.x_label) or "x"
    counts = ", ".join(f"{side} {line.points:,}" for line, side, _ in pairs)
    span = f"{_number(grid[0], _decimals(grid))} to {_number(grid[-1], _decimals(grid))}"
    if resampled or any(line.resampled for line, _, _ in pairs):
        return (
            f"x-axis by value of {x}, {span}. Resampled: each line is linearly interpolated "
            f"onto {len(grid)} evenly spaced values of {x} (points in the files: {counts})."
        )
    return f"x-axis by value of {x}, {span}, {len(grid)} points per line."


def _cell(base: int | None, head: int | None) -> str:
    if base is None or base == head:
        return f"{head if head is not None else 0}"
    if head is None:
        return f"{base} → —"
    return f"**{base} → {head}**"


def _counts(matrix: ConfusionMatrix | None) -> dict[tuple[str, str], int] | None:
    if matrix is None:
        return None
    return {
        (actual, predicted): matrix.counts[i][j]
        for i, actual in enumerate(matrix.labels)
        for j, predicted in enumerate(matrix.labels)
    }


def _confusion_md(plot: PlotDiff, report: Report) -> str:
    base, head = _counts(plot.base_matrix), _counts(plot.head_matrix)
    if head is None and base is None:
        return "_No data to show._"
    known = [*(plot.base_matrix.labels if plot.base_matrix else []),
             *(plot.head_matrix.labels if plot.head_matrix else [])]
    labels = sort_labels(known)[:MAX_CLASSES]
    x, y = inert_text(plot.x_label) or "actual", inert_text(plot.y_label) or "predicted"
    rows = [
        f"| {x} ↓ · {y} → | " + " | ".join(inert_text(label) for label in labels) + " |",
        "|:--|" + "--:|" * len(labels),
    ]
    changed = 0
    for actual in labels:
        cells = []
        for predicted in labels:
            b = base.get((actual, predicted), 0) if base is not None else None
            h = head.get((actual, predicted), 0) if head is not None else None
            changed += base is not None and b != h
            cells.append(_cell(b, h))
        rows.append(f"| **{inert_text(actual)}** | " + " | ".join(cells) + " |")
    if base is None:
        why = "see below" if plot.note else "new plot"
        what = f"head only: no {inert_text(_base_name(report))} data ({why})"
    elif head is None:
        what = "base only: the workspace has no data for it"
    else:
        total = len(labels) ** 2
        what = f"{inert_text(_base_name(report))} → head; {changed} of {total} cells changed"
    omitted = max((m.omitted for m in (plot.base_matrix, plot.head_matrix) if m), default=0)
    if len(labels) < len(set(known)) or omitted:
        what += "; only the first classes are shown"
    return "\n".join([f"Counts, {what}.", "", *rows])


def _image_link(path: str | None, images_from: str | None) -> str | None:
    """The image's path from the card, percent-encoded; None unless it is a plain
    repository-relative path."""
    if images_from is None or not path or "\\" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", "..", ".") for part in pure.parts):
        return None
    if ":" in pure.parts[0]:
        return None
    return quote(posixpath.join(images_from, pure.as_posix()), safe="/._-~")


def image_change(plot: PlotDiff) -> str:
    if plot.head_md5 is None:
        return "not in the workspace" if plot.base_md5 else "unreadable"
    if plot.base_md5 is None:
        return "base not read" if plot.note else "new"
    return "unchanged" if plot.base_md5 == plot.head_md5 else "changed"


def _image_md(plot: PlotDiff, images_from: str | None) -> str:
    change = image_change(plot)
    md5 = " → ".join(inert_text(m[:8]) for m in (plot.base_md5, plot.head_md5) if m)
    text = f"Image, **{change}**" + (f" (md5 {md5})" if md5 else "") + "."
    link = _image_link(plot.path, images_from) if plot.head_md5 else None
    if link:
        text += f"\n\n![{inert_text(plot.title)}]({link})"
    return text


def render_plot(plot: PlotDiff, report: Report, images_from: str | None = None) -> str:
    """One plot: its title, then its chart, table or image line, then what was not read."""
    title = f"**{inert_text(plot.title)}**"
    if plot.id != plot.title:
        title += f" <sub>{inert_text(plot.id)}</sub>"
    if plot.kind == "series" and plot.template in SCATTER_TEMPLATES:
        body = _scatter_md(plot)
    elif plot.kind == "series":
        body = _series_md(plot, report)
    elif plot.kind == "confusion":
        body = _confusion_md(plot, report)
    else:
        body = _image_md(plot, images_from)
    note = f"\n\n_Not all of it could be read: {inert_text(plot.note)}_" if plot.note else ""
    return f"{title}\n\n{body}{note}\n"


def render_plots_md(report: Report, *, images_from: str | None = None) -> str:
    """Every plot of *report*, within MAX_MARKDOWN characters; "" when it has none.

    *images_from* is the repository root's path from the card's directory: images are embedded
    only with it (a comment cannot show a file of the repository).
    """
    if not report.plots:
        return ""
    parts: list[str] = []
    used = 0
    left_out = report.plots_omitted
    for plot in report.plots:
        block = render_plot(plot, report, images_from)
        if used + len(block) > MAX_MARKDOWN:
            left_out += 1
            continue
        parts.append(block)
        used += len(block)
    if left_out:
        parts.append(
            f"_{left_out} more {'plot is' if left_out == 1 else 'plots are'} left out to keep "
            "this short; `dvc plots diff` shows them all._\n"
        )
    return "\n".join(parts)


def terminal_lines(report: Report) -> list[str]:
    """At most one plain-text line per plot, for the terminal (the caller defuses them)."""
    lines = []
    for plot in report.plots:
        if plot.kind == "series":
            head = max((s.points for s in plot.head), default=0)
            base = max((s.points for s in plot.base), default=0)
            what = f"{len(plot.head)} line{'s' if len(plot.head) != 1 else ''}, head {head:,} " \
                   f"points, " + (f"base {base:,}" if plot.base else "new")
        elif plot.kind == "confusion":
            size = len((plot.head_matrix or plot.base_matrix or ConfusionMatrix([], [])).labels)
            what = f"confusion matrix of {size} classes" + (
                ", unchanged" if plot.base_matrix == plot.head_matrix else
                ", new" if plot.base_matrix is None else ", changed"
            )
        else:
            what = f"image, {image_change(plot)}"
        unread = "; not all of it could be read" if plot.note else ""
        lines.append(f"  {plot.id}: {what}{unread}")
    if report.plots_omitted:
        lines.append(f"  {report.plots_omitted} more plots left out")
    return lines


def root_from(card_dir: Path, root: Path) -> str:
    """The repository root as a POSIX path from the directory a card is written to."""
    relative = os.path.relpath(os.path.realpath(root), os.path.realpath(card_dir))
    return PurePosixPath(Path(relative)).as_posix()
