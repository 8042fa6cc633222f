"""The release notes: verdict, the metric diff against the previous release, a chart of the
primary metric over the last releases, the model card folded; within GitHub's body limit.

Everything the pipeline wrote (metric names, values, the card's texts) is untrusted: it reaches
the notes through ``render_untrusted`` (inert text, code spans, the card's untrusted body) and,
inside the Mermaid chart (``render_evaluation.history_chart``, which the PR comment's chart is
drawn with too), through ``mermaid_text``. The chart is an ``xychart-beta`` whose x-axis is the
releases in version order, labelled with their versions; the values are the primary metric read
at each release's commit by ``history.release_points``, as `run` reads a base's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.config import Config
from mlops_ci.history import is_finite_number, release_points, revision_point
from mlops_ci.registry import Version
from mlops_ci.registry_tags import version_key
from mlops_ci.render import format_pct, format_signed
from mlops_ci.render_evaluation import history_chart as chart
from mlops_ci.render_evaluation import intervals_text, value_text
from mlops_ci.render_untrusted import Inert, code_span, text
from mlops_ci.report import HistoryPoint, Report

BODY_LIMIT = 125_000  # characters GitHub accepts in a release's body


@dataclass(frozen=True)
class Point:
    version: str
    value: float
    low: float | None = None  # the interval, where known (this release's, from the report)
    high: float | None = None


@dataclass(frozen=True)
class History:
    metric: str
    points: tuple[Point, ...]  # oldest version first; the release itself last
    unreadable: tuple[str, ...] = ()  # versions whose value could not be read


def read_history(
    root: Path, config: Config, report: Report, released: Sequence[Version],
    *, version: str, limit: int,
) -> History | None:
    """The primary metric at each of the last *limit* releases up to *version* (this one from
    the report); None without a primary metric. *released*: the versions that were released
    (``release/previous.py``), not every tag. The values are read by ``history.py``."""
    primary = next((m for m in report.metrics if m.primary and m.change != "removed"), None)
    if primary is None or not is_finite_number(primary.head):
        return None
    key = version_key(version)
    earlier: dict[str, Version] = {}  # below this one
    for found in released:
        if version_key(found.name) < key:
            earlier.setdefault(found.name, found)
    chosen = sorted(earlier, key=version_key)[-(limit - 1):] if limit > 1 else []
    read, unreadable = release_points(root, config, primary, [earlier[n] for n in chosen])
    points = [Point(p.label, p.value) for p in read]
    head = revision_point(primary, "head")
    points.append(Point(version, float(primary.head), head.low if head else None,
                        head.high if head else None))
    return History(primary.name, tuple(points), tuple(unreadable))


# --- rendering (pure) --------------------------------------------------------------------------


def history_chart(history: History) -> str:
    """The Mermaid chart of *history*, x-axis by release order, labelled with the versions
    (``render_evaluation.history_chart``, which the comment's chart is drawn with too)."""
    points = [HistoryPoint(p.version, p.value, p.low, p.high) for p in history.points]
    return chart(history.metric, points)


def render_notes(
    report: Report,
    *,
    artifact: str,
    version: str,
    tag: str,
    previous: str | None,
    history: History | None,
    card_body: str,
    signed: bool,
    limit: int = BODY_LIMIT,
) -> str:
    """The release's body, within *limit* characters; shortened with a note that says so."""
    head = _head(report, artifact=artifact, version=version, tag=tag, previous=previous)
    metrics = _metrics_table(report, previous)
    chart = _chart_section(history)
    card = f"<details>\n<summary>Model card</summary>\n\n{card_body.strip()}\n\n</details>\n"
    tail = _verify_section(signed)
    full = "\n".join([head, metrics, chart, card, tail])
    if len(full) <= limit:
        return full
    note_card = "_The model card is left out here; it is the release's `model-card.md`._\n"
    shortened = "\n".join([head, metrics, chart, note_card, tail])
    cut_note = (
        f"> **These notes are shortened** to fit GitHub's limit of {limit:,} characters; the "
        "full report is the release's `report.json` and the card its `model-card.md`.\n\n"
    )
    if len(cut_note) + len(shortened) <= limit:
        return cut_note + shortened
    lines = metrics.split("\n")
    while lines and len(cut_note) + len("\n".join([head, *lines, chart, note_card, tail])) > limit:
        lines.pop()
    body = cut_note + "\n".join([head, *lines, chart, note_card, tail])
    return body if len(body) <= limit else body[: limit - 1] + "…"


def _head(report: Report, *, artifact: str, version: str, tag: str, previous: str | None) -> str:
    verdict = report.verdict
    if verdict.status == "pass" and verdict.warnings:
        line = f"⚠️ **Passed with {verdict.warnings} warning(s)**: {text(verdict.summary)}"
    elif verdict.status == "pass":
        line = "✅ **Passed**: " + (
            "every error-severity gate passed." if report.gates else "no gates are declared."
        )
    else:
        line = f"❌ **Failed**: {text(verdict.summary)}"
    commit = code_span((report.head.rev or "")[:12], table=False)
    if previous:
        against = f"Compared with the previous release {code_span(previous, table=False)}"
    elif report.base.rev:
        base = code_span(report.base.ref or report.base.rev[:12], table=False)
        against = f"No previous release: compared with {base}"
    else:
        against = "The first release: nothing to compare with"
    return (
        f"## {text(artifact)} {text(version)}\n\n{line}\n\n"
        f"Tag {code_span(tag, table=False)} · commit {commit} · {against}.\n"
    )


def _metrics_table(report: Report, previous: str | None) -> str:
    digits = report.digits
    rows = []
    for m in sorted(report.metrics, key=lambda m: (not m.primary, m.name)):
        name = Inert(f"**{text(m.name)}**") if m.primary else text(m.name)
        cells = [value_text(m.base, m.base_interval, digits, nowrap=True),
                 value_text(m.head, m.head_interval, digits, nowrap=True),
                 format_signed(m.delta, digits), format_pct(m.delta_pct)]
        rows.append(f"| {name} | " + " | ".join(text(c) for c in cells) + " |")
    if not rows:
        return "### Metrics\n\n_No metrics._\n"
    before = text(previous) if previous else "Base"
    gates = [
        f"- {'✅' if g.verdict == 'pass' else '⚠️' if g.severity == 'warning' else '❌'} "
        f"{text(g.explanation)}"
        for g in report.gates
    ]
    intervals = intervals_text(report)
    return "\n".join([
        "### Metrics", "",
        f"| Metric | {before} | This release | Δ | Δ % |",
        "|:--|--:|--:|--:|--:|",
        *rows, "",
        *([f"<sub>{text(intervals)}</sub>", ""] if intervals else []),
        *(["### Gates", "", *gates, ""] if gates else []),
    ])


def _chart_section(history: History | None) -> str:
    if history is None:
        return ("_No chart: set `metrics.primary` in mlops.yaml to chart a metric over the "
                "releases._\n")
    metric = code_span(history.metric, table=False)
    if len(history.points) < 2:
        return f"_The first release with {metric}: the chart over releases starts here._\n"
    skipped = ""
    if any(p.low is not None and p.high is not None for p in history.points):
        skipped = (" The dark line is the value; the light lines are the ends of its interval "
                   "where it is known (this release's), elsewhere under the dark line.")
    if history.unreadable:
        skipped += (" Left out, their value could not be read: "
                   + ", ".join(code_span(v, table=False) for v in history.unreadable) + ".")
    return (
        f"### {metric} over the last {len(history.points)} releases\n\n"
        f"{history_chart(history)}\n\n"
        f"<sub>x-axis: the releases in version order, evenly spaced.{skipped}</sub>\n"
    )


def _verify_section(signed: bool) -> str:
    sig = (" and the signature (`model.sig`) with the repository's public key"
           if signed else "")
    return (
        "### Verify before loading\n\n"
        f"`mlops-ci fetch` checks every file against `SHA256SUMS`{sig} before it moves them "
        "into place. By hand: `sha256sum -c --strict SHA256SUMS` in the download directory.\n"
    )
