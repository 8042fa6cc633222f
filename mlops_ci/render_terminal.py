"""The terminal view of a Report: aligned metric columns, failed gates, the verdict line.

Pure: a Report in, a string out, with ANSI colour only when asked. Every name in it is data
from the pull request, so each cell passes through `terminal_safe` first.
"""

from __future__ import annotations

import unicodedata

from mlops_ci.gates import metric_label
from mlops_ci.render import (
    MISSING,
    format_pct,
    format_signed,
    gate_label,
    gate_status,
    ordered_metrics,
    render_summary_line,
    short_sha,
)
from mlops_ci.render_evaluation import evidence_text, history_line, intervals_text, value_text
from mlops_ci.report import Report
from mlops_ci.security import log_safe

_ANSI = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "cyan": "36",
    "bold_red": "1;31",
    "bold_green": "1;32",
    "bold_yellow": "1;33",
}
_CHANGE_COLORS = {
    "better": "green", "worse": "red", "new": "cyan", "removed": "yellow", "unknown": "bold_red",
}
_STATUS_TEXT = {"pass": "pass", "fail": "FAIL", "warn": "warn", "new": "new"}
_STATUS_COLORS = {"pass": "green", "fail": "bold_red", "warn": "yellow", "new": "cyan"}


def display_width(text: str) -> int:
    """Terminal columns: wide (CJK, most emoji) count two, combining marks none."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0e\ufe0f":
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def terminal_safe(text: str) -> str:
    # a metric name is data: it must not move the cursor or recolour the terminal, nor, at the
    # start of a row on the runner's log, issue a workflow command (log_safe's mark is zero-width);
    # a lone surrogate (Cs) would stop the print with an encoding error
    return log_safe("".join(
        (" " if ch in "\t\n\r" else "?") if unicodedata.category(ch) in ("Cc", "Cs") else ch
        for ch in text
    ))


def paint(text: str, style: str | None, color: bool) -> str:
    if not color or not style or not text:
        return text
    return f"\x1b[{_ANSI[style]}m{text}\x1b[0m"


def _revision_text(report: Report, which: str) -> str:
    rev = report.base if which == "base" else report.head
    if rev.rev is None:
        return f"{which} none"
    text = f"{which} {short_sha(rev.rev)}"
    if rev.ref:
        text += f" ({rev.ref})"
    if rev.dirty:
        text += " + uncommitted changes"
    return terminal_safe(text)


def render_table(report: Report, *, color: bool) -> str:
    """The terminal view: aligned metric columns, failed gates, then the verdict line.

    A metric two files hold is named as mlops.yaml names it, ``file:name``.
    """
    digits = report.digits
    lines = [
        paint(terminal_safe(report.title), "bold", color)
        + f": {_revision_text(report, 'base')} → {_revision_text(report, 'head')}",
        "",
    ]

    # each cell: (text, style); the first and last columns align left, numbers right
    header: list[tuple[str, str | None]] = [
        (h, "bold") for h in ("metric", "base", "head", "Δ", "Δ%", "gate")
    ]
    rows = [header]
    any_primary = False
    for m in ordered_metrics(report):
        is_primary = m.primary or m.name == report.primary_metric
        any_primary = any_primary or is_primary
        status = gate_status(report, m)
        change_style = _CHANGE_COLORS.get(m.change)
        rows.append([
            (terminal_safe(metric_label(m, report.metrics)) + (" *" if is_primary else ""),
             "bold" if is_primary else None),
            (terminal_safe(value_text(m.base, m.base_interval, digits)), None),
            (terminal_safe(value_text(m.head, m.head_interval, digits)), None),
            (format_signed(m.delta, digits), change_style),
            (format_pct(m.delta_pct), change_style),
            (_STATUS_TEXT.get(status, status) if status else MISSING,
             _STATUS_COLORS.get(status) if status else "dim"),
        ])

    if len(rows) == 1:
        lines.append("No metrics found.")
    else:
        widths = [max(display_width(row[i][0]) for row in rows) for i in range(len(header))]
        last = len(header) - 1
        for row in rows:
            cells = []
            for i, (text, style) in enumerate(row):
                gap = " " * (widths[i] - display_width(text))
                if i in (0, last):
                    padded = paint(text, style, color) + (gap if i != last else "")
                else:
                    padded = gap + paint(text, style, color)
                cells.append(padded)
            lines.append("  ".join(cells).rstrip())
        if any_primary:
            lines.append(paint("* primary metric", "dim", color))
        intervals = intervals_text(report)
        if intervals:
            lines.append(paint(terminal_safe(intervals), "dim", color))
        if report.evaluation is not None and report.evaluation.note:
            note = f"Base predictions not compared: {report.evaluation.note}"
            lines.append(terminal_safe(" ".join(note.split())))

    failed = report.failed_gates()
    if failed:
        lines += ["", "Failed gates:"]
        for g in failed:
            mark, style = ("✗", "red") if g.severity == "error" else ("!", "yellow")
            evidence = evidence_text(g, digits)
            text = terminal_safe(f"{gate_label(g)} ({g.severity}): {g.explanation}"
                                 + (f" [{evidence}]" if evidence else ""))
            lines.append(f"  {paint(mark, style, color)} {' '.join(text.split())}")

    verdict = report.verdict
    style = (
        "bold_red" if verdict.status == "fail"
        else "bold_yellow" if verdict.warnings
        else "bold_green"
    )
    history = history_line(report)
    if history:
        lines += ["", terminal_safe(history)]
    if report.plots:
        from mlops_ci.render_plots import terminal_lines

        lines += ["", "Plots:", *(terminal_safe(line) for line in terminal_lines(report))]
    lines += ["", paint(terminal_safe(render_summary_line(report)), style, color)]
    return "\n".join(lines) + "\n"
