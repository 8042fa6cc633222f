"""What a failed run tells the reviewer, as markdown: the job summary and the sticky comment.

A run that fails before its report exists (a stage that exits non-zero, a broken mlops.yaml,
a base that does not resolve) still says so where the reviewer looks. Pure functions: the
publisher (``failure.py``) writes what they build.

Everything from the pull request is inert here: the error's message (it quotes dvc.yaml's
commands and mlops.yaml's values) through ``inert_text``, the stage's output HTML-escaped in a
``<pre>`` block. So no text of theirs holds a raw ``<``, and the one line that opens the folded
last report cannot be forged by them.

The previous comment's body is untrusted too (anyone with write access can edit it). Its last
complete report is kept, folded: read after our marker and history lines, or from inside the
fold of a previous failure comment (never nested twice), with hidden markers defused, code
fences and ``<details>`` balanced, and cut to fit.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from mlops_ci.github.comments import (
    BODY_BUDGET,
    comment_marker,
    lines_within,
    markdown_link,
    text_length,
)
from mlops_ci.github.history import encode_history, parse_history
from mlops_ci.security import inert_text, visible_order

FAILURE_HEADING = "### ❌ mlops-ci: the run failed"
_LAST_OPEN = "<details><summary>The last complete report"
_LAST_OPEN_LINE = re.compile(
    r"^" + re.escape(_LAST_OPEN)
    + r"(?: \(commit <code>(?P<sha>[0-9a-f]{7,40})</code>\))?</summary>[ \t]*$",
    re.MULTILINE,
)
_HISTORY_PREFIX = "<!-- mlops-ci:history "
MAX_MESSAGE_CHARS = 4_000  # an error message is a sentence or two; what is longer is cut
MAX_LINE_CHARS = 500  # per line of the stage's output
MAX_FOLD_DEPTH = 8  # <details> open at once in a folded report
_SHA = re.compile(r"[0-9a-fA-F]{7,40}")


@dataclass(frozen=True)
class Failure:
    """A run that ended in an error, as the reviewer is told it. Secrets already masked."""

    kind: str  # "a configuration error", "a pipeline failure", …: trusted words
    message: str  # the error's message: untrusted text
    output: str = ""  # the last lines of the stage's output: untrusted text
    file: str | None = None  # where it stands, relative to the workspace
    line: int | None = None
    key: str | None = None  # the mlops.yaml key path or the dvc.yaml stage: untrusted text
    exit_code: int = 2


def bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def failure_markdown(failure: Failure, *, head_sha: str | None, run_url: str | None) -> str:
    """The failure, for the job summary and the top of the comment."""
    at = f" at commit `{head_sha[:7]}`" if head_sha and _SHA.fullmatch(head_sha) else ""
    lines = [
        FAILURE_HEADING,
        "",
        f"The run stopped with {failure.kind}{at}, before its report existed: no metric was "
        "compared and no gate was judged. Fix it and push again.",
        "",
    ]
    lines += [f"> {inert_text(line)}" if line.strip() else ">" for line in _message_lines(failure)]
    where = _where(failure)
    if where:
        lines += ["", where]
    if failure.output.strip():
        lines += [
            "",
            "<details><summary>The last lines of the output</summary>",
            "",
            "<pre>",
            *(_pre_line(line) for line in failure.output.splitlines() if line.strip()),
            "</pre>",
            "",
            "</details>",
        ]
    if run_url:
        lines += ["", f"The whole output is in the {markdown_link('job log', run_url)}."]
    return "\n".join(lines) + "\n"


def _message_lines(failure: Failure) -> list[str]:
    text = bounded(failure.message.strip(), MAX_MESSAGE_CHARS)
    return [bounded(line, MAX_LINE_CHARS * 2) for line in text.splitlines()] or ["(no message)"]


def _where(failure: Failure) -> str:
    if failure.file is None:
        return ""
    text = f"In {inert_text(failure.file)}"
    if failure.line is not None:
        text += f", line {failure.line}"
    if failure.key:
        what = "stage" if failure.file.endswith("dvc.yaml") else "key"
        text += f" ({what} {inert_text(failure.key)})"
    return text + "."


def _pre_line(line: str) -> str:
    """A line of output inside ``<pre>``: no tag, no entity and no marker of its own."""
    line = bounded(visible_order(line.removeprefix("    ")), MAX_LINE_CHARS)
    return html.escape(line, quote=False)


# --- the comment ---


def failure_comment_body(
    failure: Failure,
    *,
    key: str,
    previous_body: str | None,
    head_sha: str | None,
    run_url: str | None,
    budget: int = BODY_BUDGET,
) -> str:
    """The sticky comment of a failed run: the failure, then the last complete report folded.

    The history line of the previous comment is carried over as it was (a failed run adds no
    push to it), so the next complete run continues it.
    """
    head = comment_marker(key) + "\n"
    history = parse_history(previous_body) if previous_body else None
    if history is not None:
        head += encode_history(history) + "\n"
    text = head + "\n" + failure_markdown(failure, head_sha=head_sha, run_url=run_url)
    last = last_report(previous_body) if previous_body else None
    if last is None:
        return text
    markdown, sha = last
    commit = f" (commit <code>{sha[:7]}</code>)" if sha else ""
    opening = f"\n{_LAST_OPEN}{commit}</summary>\n\n"
    closing = "\n\n</details>\n"
    room = budget - text_length(text) - text_length(opening) - text_length(closing) - 200
    if room < 1000:
        return text
    # escaped first (that lengthens it), then cut, then what the cut left open closed
    kept, cut = _fit(_balanced(markdown), room)
    return text + opening + _balanced(kept) + (CUT_NOTE if cut else "") + closing


CUT_NOTE = (
    "\n\n_The rest of this report is left out here to fit GitHub's limit on a comment; the "
    "job summary of the run that computed it has it whole._"
)


def _fit(markdown: str, budget: int) -> tuple[str, bool]:
    """*markdown* cut at a line break to *budget* (UTF-16 units); the bool says it was cut.

    Room is left for the note and for what :func:`_balanced` may add to close what the cut
    left open.
    """
    if text_length(markdown) <= budget:
        return markdown, False
    room = budget - text_length(CUT_NOTE) - 20 * MAX_FOLD_DEPTH
    return "\n".join(lines_within(markdown, room)), True


def last_report(body: str) -> tuple[str, str | None] | None:
    """(the last complete report in a previous comment, its head commit if known), or None."""
    from mlops_ci.github.history import MARKER_OPEN

    lines = body.replace("\r\n", "\n").lstrip().split("\n")
    if not lines[0].startswith(MARKER_OPEN):
        return None
    rest = lines[1:]
    if rest and rest[0].startswith(_HISTORY_PREFIX):
        rest = rest[1:]
    text = "\n".join(rest).strip("\n")
    if text.startswith(FAILURE_HEADING):  # a failure comment: the report it had folded
        opened = _LAST_OPEN_LINE.search(text)
        if opened is None:
            return None
        inner = text[opened.end():].rstrip()
        if inner.endswith("</details>"):
            inner = inner[: -len("</details>")]
        inner = inner.strip("\n")
        return (inner, opened["sha"]) if inner.strip() else None
    if not text.strip():
        return None
    history = parse_history(body)
    sha = history.entries[0].sha if history is not None and history.entries else None
    return text, sha


_FENCE = re.compile(r"\s{0,3}(`{3,}|~{3,})")
# The raw HTML our templates write; any other `<` of a previous body is shown as text.
_OUR_HTML = re.compile(
    r"(<details(?: open)?>|</details\s*>|<summary>[^<\n]*</summary>|<sub>[^<\n]*</sub>)",
    re.IGNORECASE,
)


def _balanced(markdown: str) -> str:
    """*markdown* safe to fold: our few tags only, balanced, and code fences closed.

    Outside code, a ``<`` that does not begin one of the tags our templates write is shown as
    text (so no hidden marker, no half-open tag); a ``</details>`` with nothing open would
    close the fold early and is shown as text; what is left open is closed, and so is an open
    code fence (it would swallow the fold's end).
    """
    out = []
    fence: str | None = None
    depth = 0
    for line in markdown.split("\n"):
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener[1][0] == fence[0] and len(opener[1]) >= len(fence):
                fence = None
            out.append(line)
            continue
        if opener:
            fence = opener[1]
            out.append(line)
            continue
        pieces = _OUR_HTML.split(line)
        for i, piece in enumerate(pieces):
            if i % 2 == 0:  # text between our tags
                pieces[i] = piece.replace("<", "&lt;")
            elif piece.lower().startswith("<details"):
                if depth == MAX_FOLD_DEPTH:  # ours nest two deep; more only makes it long
                    pieces[i] = piece.replace("<", "&lt;")
                else:
                    depth += 1
            elif piece.lower().startswith("</details"):
                if depth == 0:
                    pieces[i] = piece.replace("<", "&lt;")
                else:
                    depth -= 1
        out.append("".join(pieces))
    if fence is not None:
        out.append(fence)
    text = "\n".join(out)
    return text + "\n\n</details>" * depth
