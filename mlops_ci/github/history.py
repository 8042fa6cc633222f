"""The history of the primary metric across a pull request's pushes, kept in its comment.

The data travel as base64 JSON in the sticky comment's second line, right after the marker
line. Anyone with write access can edit a comment, so that data is untrusted: it is read only
from that exact line (never from text further down, which a report's names, paths or prose
could have put there), parsed defensively, dropped whole on any error, and rendered as inert
text.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from mlops_ci.compare import is_number

if TYPE_CHECKING:
    from mlops_ci.report import Report

HISTORY_LIMIT = 20  # pushes kept in the comment's history
MARKER_OPEN = "<!-- mlops-ci:comment key="  # how the sticky comment's first line begins

_HISTORY_OPEN = "<!-- mlops-ci:history "
_HISTORY_CLOSE = " -->"
_HISTORY_MAX_CHARS = 16_384  # ours stays far below; anything longer is not ours
_HISTORY_LINE = re.compile(
    re.escape(_HISTORY_OPEN) + f"([A-Za-z0-9+/=]{{1,{_HISTORY_MAX_CHARS}}})"
    + re.escape(_HISTORY_CLOSE)
)
_HISTORY_MAX_ENTRIES = 50
_SHA = re.compile(r"[0-9a-f]{7,40}")
_VERDICT_MARKS = {"pass": "✅ pass", "fail": "❌ fail"}


Verdict = Literal["pass", "fail"]


@dataclass(frozen=True)
class HistoryEntry:
    sha: str  # the pull request's head commit, lower-case hex
    value: float | int | None  # the primary metric at that push; None when not a number
    verdict: Verdict


@dataclass(frozen=True)
class History:
    metric: str
    entries: tuple[HistoryEntry, ...]  # newest first


def parse_history(body: str) -> History | None:
    """The history a comment body carries, or None when it has none or it is not valid.

    The body is untrusted. The history is read only where :func:`comment_body` writes it: the
    whole second line, right after the marker line; a history line anywhere else is text
    (a report's names, paths or prose could have put it there). Every field is checked for
    type and length, and any problem drops the whole history rather than part of it.
    """
    lines = body.lstrip().split("\n", 2)
    if len(lines) < 2 or not lines[0].startswith(MARKER_OPEN):
        return None
    found = _HISTORY_LINE.fullmatch(lines[1].rstrip("\r"))
    if found is None:
        return None
    try:
        raw = base64.b64decode(found.group(1), validate=True)
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return _history_from(data)


def _history_from(data: Any) -> History | None:
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    metric, runs = data.get("metric"), data.get("runs")
    if not isinstance(metric, str) or not 0 < len(metric) <= 500:
        return None
    if not isinstance(runs, list) or len(runs) > _HISTORY_MAX_ENTRIES:
        return None
    entries = []
    for run in runs:
        if not isinstance(run, dict):
            return None
        sha, value, verdict = run.get("sha"), run.get("value"), run.get("verdict")
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            return None
        if value is not None and not is_number(value):
            return None
        if verdict not in _VERDICT_MARKS:
            return None
        entries.append(HistoryEntry(sha, value, verdict))
    return History(metric, tuple(entries))


def next_history(previous: History | None, report: Report, head_sha: str | None) -> History | None:
    """The history with this push first; None when the report has no primary metric.

    A re-run of the same commit replaces its entry. When the primary metric changed, the old
    history is about another metric and starts over.
    """
    metric = report.primary()
    if metric is None and report.primary_metric is not None:
        metric = next((m for m in report.metrics if m.name == report.primary_metric), None)
    sha = (head_sha or report.head.rev or "").lower()
    if metric is None or not _SHA.fullmatch(sha):
        return None
    value = metric.head if is_number(metric.head) else None
    current = HistoryEntry(sha, value, report.verdict.status)
    earlier: Iterable[HistoryEntry] = ()
    if previous is not None and previous.metric == metric.name:
        earlier = (e for e in previous.entries if e.sha != sha)
    entries = (current, *earlier)
    return History(metric.name, entries[:HISTORY_LIMIT])


def encode_history(history: History) -> str:
    """The hidden line that carries *history*: base64 holds no ``-->`` and no newline."""
    data = {
        "v": 1,
        "metric": history.metric,
        "runs": [{"sha": e.sha, "value": e.value, "verdict": e.verdict} for e in history.entries],
    }
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return f"{_HISTORY_OPEN}{base64.b64encode(text.encode()).decode()}{_HISTORY_CLOSE}"


def render_history(history: History, digits: int) -> str:
    """A collapsed table of the pushes, newest first; empty for the first push.

    The metric's name came from a report or from an editable comment: it is shown as text.
    """
    from mlops_ci.render import code, num, plural, short_sha
    from mlops_ci.security import inert_text

    if len(history.entries) < 2:
        return ""
    name = inert_text(history.metric)
    lines = [
        f"<details><summary>History of {name} "
        f"({plural(len(history.entries), 'push', 'pushes')})</summary>",
        "",
        f"| Push | {name} | Verdict |",
        "|:--|--:|:--|",
    ]
    for i, entry in enumerate(history.entries):
        this = " (this push)" if i == 0 else ""
        lines.append(
            f"| {code(short_sha(entry.sha))}{this} | {num(entry.value, digits)} "
            f"| {_VERDICT_MARKS[entry.verdict]} |"
        )
    lines += ["", "</details>", ""]
    return "\n".join(lines)
