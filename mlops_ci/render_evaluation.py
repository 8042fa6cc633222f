"""The evaluation's parts of a Report for people: intervals beside values, the evidence of a
gate, the confusion matrix as a table, the chart of the primary metric across releases. Pure.

The text helpers (:func:`interval_text`, :func:`evidence_text`, :func:`slice_text`, ...) return
plain text, whatever of it came from the report included: the caller escapes it (``md`` or
``code`` in the templates, which the fork-safe mode makes inert; ``terminal_safe`` in the
terminal). The markdown helpers (:func:`evaluation_md`, :func:`history_chart`) return markdown
that is already inert: names pass ``inert_text``, and a chart's text only ``mermaid_text``.

The confusion matrix has one rule against drawing it twice: when a plot of the report
(dvc.yaml's ``plots``, e.g. the ``confusion.json`` that ``mlops-ci evaluate`` writes) is a
confusion matrix with the same head counts, that plot is the one shown, under "Plots".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mlops_ci.render import format_signed, format_value
from mlops_ci.render_plots import mermaid_text, render_plot
from mlops_ci.report import ConfusionMatrix, GateResult, HistoryPoint, PlotDiff, Report
from mlops_ci.security import inert_text

TEST_NAMES = {"mcnemar": "McNemar's test", "paired_bootstrap": "paired bootstrap"}
VALUE_COLOR = "#1f77b4"  # render_plots.PALETTE's blue: the value's line
BAND_COLOR = "#9ecae1"  # a lighter blue: the interval's ends
EN_DASH = "\u2013"
WORD_JOINER = "\u2060"


def _finite(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _interval(interval: Any) -> tuple[float, float] | None:
    if (isinstance(interval, (list, tuple)) and len(interval) == 2
            and all(_finite(v) for v in interval)):
        return float(interval[0]), float(interval[1])
    return None


def level_text(level: float) -> str:
    """0.95 → "95 %"."""
    return f"{100 * level:g} %"


# --- plain text --------------------------------------------------------------------------------


def interval_text(interval: Any, digits: int = 4, *, nowrap: bool = False) -> str:
    """``(0.9011–0.9230)``; "" when there is no interval.

    *nowrap* (markdown): word joiners around the dash, so that a narrow table cell breaks
    the line before the interval, not inside it. The terminal counts columns: not there.
    """
    found = _interval(interval)
    if found is None:
        return ""
    low, high = (format_value(v, digits) for v in found)
    dash = f"{WORD_JOINER}{EN_DASH}{WORD_JOINER}" if nowrap else EN_DASH
    return f"({low}{dash}{high})"


def md_interval(interval: Any, digits: int = 4) -> str:
    """The template's ``interval`` filter: :func:`interval_text` for a table cell."""
    return interval_text(interval, digits, nowrap=True)


def value_text(value: Any, interval: Any, digits: int = 4, *, nowrap: bool = False) -> str:
    """A value and its interval beside it: ``0.9123 (0.9011–0.9230)``."""
    shown = format_value(value, digits)
    around = interval_text(interval, digits, nowrap=nowrap) if value is not None else ""
    return f"{shown} {around}" if around else shown


def has_intervals(report: Report) -> bool:
    return any(_interval(m.head_interval) or _interval(m.base_interval) for m in report.metrics)


def intervals_text(report: Report) -> str:
    """The level of the intervals, said once: "" when no metric has one."""
    if not has_intervals(report):
        return ""
    info = report.evaluation
    if info is None:
        return "Intervals in parentheses."
    rows = f"{info.rows:,} rows"
    if info.base_rows is not None and info.base_rows != info.rows:
        rows += f" (base {info.base_rows:,})"
    delong = any(m.name == "roc_auc" and m.head_interval for m in report.metrics)
    return (f"In parentheses: {level_text(info.confidence)} intervals from {rows}, "
            f"{info.replicates:,} bootstrap replicates (seed {info.seed})"
            + ("; ROC AUC's from DeLong's variance." if delong else "."))


def p_text(p_value: Any) -> str:
    if not _finite(p_value):
        return ""
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.2g}"


def test_text(test: Any) -> str:
    return TEST_NAMES.get(test, str(test)) if test else ""


def slice_text(where: Any) -> str:
    """``sex = female, age_group = 30-40``; "" for no slice."""
    if not isinstance(where, dict) or not where:
        return ""
    return ", ".join(f"{key} = {format_value(value, None)}" if not isinstance(value, str)
                     else f"{key} = {value}" for key, value in where.items())


def evidence_text(gate: GateResult, digits: int = 4) -> str:
    """What the gate's test found, in one line; "" for a gate that asks for none.

    ``significant: p = 0.0031; head − base −0.0410 to −0.0120 (95 %); McNemar's test``, or
    ``not tested (McNemar's test, α = 0.05): why`` when the test could not be run.
    """
    test = test_text(gate.test)
    alpha = f"\u03b1 = {gate.alpha:g}" if _finite(gate.alpha) else ""
    note = " ".join(str(gate.evidence_note).split()) if gate.evidence_note else ""
    if gate.significance is None and note:
        what = ", ".join(part for part in (test, alpha) if part)
        return f"not tested ({what}): {note}" if what else f"not tested: {note}"
    parts: list[str] = []
    if p_text(gate.p_value):
        parts.append(p_text(gate.p_value))
    difference = _interval(gate.difference)
    if difference is not None:
        level = f" ({level_text(1 - gate.alpha)})" if _finite(gate.alpha) and gate.alpha else ""
        low, high = (format_signed(v, digits) for v in difference)
        parts.append(f"head \u2212 base {low} to {high}{level}")
    if test:
        parts.append(test if difference is not None or not alpha else f"{test}, {alpha}")
    text = "; ".join(parts)
    if gate.significance:
        text = f"{gate.significance}: {text}" if text else str(gate.significance)
    return f"{text} ({note})" if note and text else text


def history_line(report: Report) -> str:
    """``roc_auc across releases: v1.0.0 0.8923 → base 0.9123 → head 0.9287``; "" for fewer
    than two points (for the terminal, which defuses it)."""
    points = [p for p in report.history if _finite(p.value)]
    metric = report.primary_metric or next((m.name for m in report.metrics if m.primary), "")
    if len(points) < 2 or not metric:
        return ""
    shown = " \u2192 ".join(f"{p.label} {format_value(p.value, report.digits)}" for p in points)
    if not any(p.kind == "release" for p in points):
        return f"{metric}, base and head (no release of the model yet): {shown}"
    return f"{metric} across releases: {shown}"


# --- markdown, inert ---------------------------------------------------------------------------


Counts = list[list[int]]


def _labels_counts(confusion: Any) -> tuple[list[str], Counts, Counts | None] | None:
    """The report's confusion matrices, if they are square and match their labels."""
    if not isinstance(confusion, dict):
        return None
    labels = confusion.get("labels")
    if not isinstance(labels, list) or not labels:
        return None

    def square(matrix: Any) -> list[list[int]] | None:
        if not isinstance(matrix, list) or len(matrix) != len(labels):
            return None
        if not all(isinstance(row, list) and len(row) == len(labels) for row in matrix):
            return None
        return matrix

    head, base = square(confusion.get("head")), square(confusion.get("base"))
    if head is None:
        return None
    return [str(label) for label in labels], head, base


def _cells(matrix: ConfusionMatrix | None) -> dict[tuple[str, str], int]:
    if matrix is None:
        return {}
    return {
        (str(actual), str(predicted)): count
        for i, actual in enumerate(matrix.labels)
        for j, predicted in enumerate(matrix.labels)
        if i < len(matrix.counts) and j < len(matrix.counts[i])
        and (count := matrix.counts[i][j])
    }


def confusion_plot(report: Report) -> PlotDiff | None:
    """The evaluation's confusion matrices as a plot, unless a plot of the report shows them."""
    from mlops_ci.plots import MAX_CLASSES

    info = report.evaluation
    found = _labels_counts(info.confusion) if info is not None else None
    if info is None or found is None:
        return None
    labels, head, base = found
    keep = min(len(labels), MAX_CLASSES)
    head_matrix = ConfusionMatrix(labels[:keep], [row[:keep] for row in head[:keep]],
                                  omitted=len(labels) - keep)
    base_matrix = None
    if base is not None:
        base_matrix = ConfusionMatrix(labels[:keep], [row[:keep] for row in base[:keep]],
                                      omitted=len(labels) - keep)
    ours = _cells(head_matrix)
    if any(p.kind == "confusion" and _cells(p.head_matrix) == ours for p in report.plots):
        return None
    title = "Confusion matrix"
    return PlotDiff(
        id=title, kind="confusion", title=title, x_label="actual", y_label="predicted",
        base_matrix=base_matrix, head_matrix=head_matrix,
        note=info.note if base is None and info.note else None,
    )


def history_chart(
    metric: str, points: Sequence[HistoryPoint], *, x_title: str | None = None,
    title: str | None = None,
) -> str:
    """A Mermaid ``xychart-beta`` of *points* in the order given, labelled with their labels.

    The x-axis is categorical (xychart spaces its labels evenly: it is not a value axis).
    Where a point has an interval, two lighter lines draw its low and high ends (xychart has
    no error bars); a point without one puts both at its value, under the value's line, which
    is drawn last, on top. A point without a finite value is left out (Mermaid cannot parse
    ``inf`` or ``nan``). The release notes and the comment draw their charts with this.
    """
    shown = [p for p in points if _finite(p.value)] or [HistoryPoint("", 0.0)]
    values = [p.value for p in shown]
    bands = [_interval([p.low, p.high]) for p in shown]
    with_band = any(band is not None for band in bands)
    lows = [min(band) if band else p.value for p, band in zip(shown, bands, strict=True)]
    highs = [max(band) if band else p.value for p, band in zip(shown, bands, strict=True)]
    every = [*values, *lows, *highs] if with_band else values
    low, high = min(every), max(every)
    pad = (high - low) * 0.1 or abs(high) * 0.01 or 1.0
    labels = ", ".join(f'"{mermaid_text(p.label)}"' for p in shown)
    axis = f'"{mermaid_text(x_title)}" ' if x_title else ""
    palette = f"{BAND_COLOR}, {BAND_COLOR}, {VALUE_COLOR}" if with_band else VALUE_COLOR
    lines = [f"    line [{', '.join(_num(v) for v in ys)}]" for ys in (lows, highs)] \
        if with_band else []
    return "\n".join([
        "```mermaid",
        # mermaid's default xychart line is a pale lavender, hard to see on white: the
        # comment's charts' blue, set as they set it.
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%',
        "xychart-beta",
        f'    title "{mermaid_text(title or f"{metric} by release")}"',
        f"    x-axis {axis}[{labels}]",
        f'    y-axis "{mermaid_text(metric)}" {_num(low - pad)} --> {_num(high + pad)}',
        *lines,
        f"    line [{', '.join(_num(v) for v in values)}]",
        "```",
    ])


def _num(value: float) -> str:
    shown = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if shown in ("-0", "") else shown


def history_md(report: Report) -> str:
    """The chart of ``report.history`` with its caption; "" with fewer than two points."""
    points = [p for p in report.history if _finite(p.value)]
    metric = report.primary_metric or next((m.name for m in report.metrics if m.primary), "")
    if len(points) < 2 or not metric:
        return ""
    releases = sum(p.kind == "release" for p in points)
    sides = [p.kind for p in points if p.kind != "release"]
    title = f"{metric} by release" if releases else f"{metric}, base and head"
    chart = history_chart(metric, points, x_title="release order", title=title)
    order = "the releases in version order" if releases else ""
    if sides:
        order += (", then " if order else "") + " and ".join(
            "the base" if kind == "base" else "the head" for kind in sides)
    banded = any(_finite(p.low) and _finite(p.high) for p in points)
    legend = ""
    if banded:
        level = level_text(report.evaluation.confidence) if report.evaluation else ""
        legend = (f" The dark line is the value; the light lines are the ends of its {level} "
                  "interval, where it is known (elsewhere they lie under the dark line).")
    base = f" The base is {inert_text(report.base.ref)}." if report.base.ref and "base" in sides \
        else ""
    heading = f"{inert_text(metric)} across releases" if releases else \
        f"{inert_text(metric)}, base and head (no release of the model to show)"
    return (f"**{heading}**\n\n{chart}\n\n"
            f"<sub>x-axis: {order}, evenly spaced (an order, not a value axis).{base}{legend}"
            "</sub>\n")


def evaluation_md(report: Report) -> str:
    """The chart across releases and the confusion matrix, inert; "" when neither is shown."""
    parts = [history_md(report)]
    plot = confusion_plot(report)
    if plot is not None:
        parts.append(render_plot(plot, report))
    return "\n".join(part for part in parts if part).rstrip("\n")
