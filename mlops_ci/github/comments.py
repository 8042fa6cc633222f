"""The sticky pull-request comment: exactly one per pull request and key, edited in place.

The comment is found by a hidden marker, ``<!-- mlops-ci:comment key=KEY -->``, on its first
line, and only among the comments the token's own user wrote: a comment that carries the marker
but was written by someone else is never edited. Every page of the comments is read (a long
pull request has more than 100), so the comment is found however far down it is.

The comment also carries a short history of the primary metric across the pull request's
pushes, in a second hidden line (``history.py``).

Duplicates never: a create that may have reached GitHub before failing is not repeated blindly;
the comments are listed again, and the comment is posted only if it is still absent.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from mlops_ci.errors import InputError
from mlops_ci.github.client import ACTIONS_BOT_LOGIN
from mlops_ci.github.errors import GitHubNotFoundError, GitHubUncertainWriteError
from mlops_ci.github.history import (
    MARKER_OPEN,
    encode_history,
    next_history,
    parse_history,
    render_history,
)

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient
    from mlops_ci.rejudge import Judgement
    from mlops_ci.report import Report

log = logging.getLogger(__name__)

CommentMode = Literal["update", "new", "off"]

GITHUB_BODY_LIMIT = 65_536  # GitHub refuses a longer comment body
BODY_BUDGET = 65_000  # what mlops-ci aims for, with room to spare
MIN_TABLE_ROWS = 5  # rows a table keeps when the comment is cut
CREATE_ATTEMPTS = 3  # creates that may each have reached GitHub before mlops-ci gives up

_KEY = re.compile(r"[A-Za-z0-9._-]{1,100}")
_DELIMITER_ROW = re.compile(r"\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*")


# --- the marker ---


def check_key(key: str) -> str:
    """The comment key, if it is safe inside the marker; InputError otherwise."""
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InputError(
            f"The comment key {key!r} is not valid: use 1 to 100 letters, digits, '.', '_' or "
            "'-' (comment.key in mlops.yaml, or --key)."
        )
    return key


def comment_marker(key: str) -> str:
    """The hidden first line that identifies the sticky comment of *key*."""
    return f"{MARKER_OPEN}{check_key(key)} -->"


# --- the body ---


def text_length(text: str) -> int:
    """Length as UTF-16 code units: never less than the characters GitHub counts."""
    # surrogatepass: a lone surrogate (JSON allows "\ud800") counts as the one unit it is
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def comment_body(
    report: Report,
    *,
    key: str,
    previous_body: str | None = None,
    head_sha: str | None = None,
    run_url: str | None = None,
    template_dir: Path | None = None,
    budget: int = BODY_BUDGET,
    untrusted: bool = False,
    preface: str = "",
) -> str:
    """The whole comment: marker, history data, the report (cut to fit), the history table.

    *untrusted*: the report comes from someone else's run (the fork-safe commenter), and
    everything from it is rendered as inert text; *preface* (trusted markdown) goes first.
    """
    previous = parse_history(previous_body) if previous_body else None
    history = next_history(previous, report, head_sha)
    head = comment_marker(key) + "\n"
    tail = ""
    if history is not None:
        head += encode_history(history) + "\n"
        table = render_history(history, report.digits)
        tail = "\n" + table if table else ""
    head += "\n" + preface
    room = budget - text_length(head) - text_length(tail)
    markdown, card = _render(report, template_dir, untrusted=untrusted)
    return head + fit_markdown(markdown, room, card=card.strip(), run_url=run_url) + tail


def _render(report: Report, template_dir: Path | None, *, untrusted: bool) -> tuple[str, str]:
    """(report.md, the model card's body in it) for the comment."""
    if untrusted:
        from mlops_ci.render_untrusted import (
            render_untrusted_card_body,
            render_untrusted_report_md,
        )

        card = render_untrusted_card_body(report, template_dir)
        return render_untrusted_report_md(report, template_dir, card), card
    from mlops_ci.card import render_card_body
    from mlops_ci.render import render_report_md

    return render_report_md(report, template_dir), render_card_body(report, template_dir)


def provenance(judgement: Judgement, *, run_url: str | None, status_name: str) -> str:
    """The note above an untrusted report: who computed its numbers, who judged them.

    Trusted words only: *run_url* comes from the event (GitHub's, not the artifact's), and
    the metrics it names are the trusted gates'.
    """
    from mlops_ci.render_untrusted import code_span

    run = (
        f"the pull request's own {markdown_link('workflow run', run_url)}"
        if run_url
        else "the pull request's own workflow run"
    )
    lines = [f"> ℹ️ **The numbers below were computed by {run}**, from the pull request's code."]
    if not judgement.trusted:
        lines.append(
            "> ⚠️ **Not judged:** the base repository's checkout has no `mlops.yaml`, so no "
            f"trusted gate judged them, and `{status_name}` is never a success (the status is "
            "an error, a check run a failure)."
        )
    else:
        lines.append(
            "> Their verdict was judged again here with the gates of the base repository's "
            "`mlops.yaml`; the verdict, the gates and the status are that judgement, not the "
            "pull request's."
        )
    if judgement.base_rev:  # 40 hex digits from GitHub's API, not the artifact's
        lines.append(
            f"> ❌ **The base values could not be read** by the trusted workflow at "
            f"`{judgement.base_rev[:7]}`, the pull request's base commit, so the relative "
            "gates fail; the report's own base values are not used."
            if judgement.base_problem
            else "> The base values were read by the trusted workflow at "
            f"`{judgement.base_rev[:7]}`, the pull request's base commit, not taken from the "
            "pull request's report."
        )
    if judgement.unjudgeable:
        names = ", ".join(code_span(name, table=False) for name in judgement.unjudgeable)
        lines.append(
            f"> ❌ The report has no usable value for {names}, which the base repository's "
            "gates check: those gates fail."
        )
    return "\n>\n".join(lines) + "\n\n"


def fit_markdown(
    markdown: str, budget: int, *, card: str = "", run_url: str | None = None
) -> str:
    """*markdown* within *budget* (UTF-16 units), cut with a visible note when it is longer.

    First the model card (*card*, as it appears in the markdown) is left out, then rows from the
    end of the longest tables (each keeps MIN_TABLE_ROWS), and only then the text's tail.
    """
    if text_length(markdown) <= budget:
        return markdown
    where = (
        f"the {markdown_link('job summary', run_url)} of this run"
        if run_url
        else "the report.md that `mlops-ci run` wrote"
    )
    card_dropped = bool(card) and card in markdown
    if card_dropped:
        markdown = markdown.replace(card, f"_The model card is left out here; see {where}._", 1)

    def note(rows: int, tail: bool) -> str:
        left_out = ["the model card"] if card_dropped else []
        if rows:
            left_out.append(f"{rows:,} table rows")
        if tail:
            left_out.append("the end of the report")
        what = ", ".join(left_out[:-1]) + " and " + left_out[-1] if len(left_out) > 1 else (
            left_out[0] if left_out else "part of the report"
        )
        return (
            f"> **This comment is shortened** to fit GitHub's limit of {GITHUB_BODY_LIMIT:,} "
            f"characters; left out: {what}. The full report is in {where}.\n\n"
        )

    worst_note = text_length(note(10**9, True))
    text, rows = _cut_tables(markdown, budget - worst_note)
    if text_length(text) + worst_note <= budget:
        return note(rows, False) + text
    return note(rows, True) + _cut_tail(text, budget - worst_note)


def _link(url: str) -> str:
    # The run URL comes from the runner's variables; escape what would end the link anyway.
    return quote(url, safe=":/?#@!$&'*+,;=%~")


def markdown_link(text: str, url: str) -> str:
    """A markdown link to a trusted *url* (a run's page), with trusted *text*."""
    return f"[{text}]({_link(url)})"


def _cut_tables(markdown: str, budget: int) -> tuple[str, int]:
    """Drop rows from the end of the longest tables until *markdown* fits; (text, rows cut)."""
    lines = markdown.split("\n")
    tables: list[list[int]] = []  # the body rows of each table, as line indexes
    for i in range(1, len(lines)):
        if _DELIMITER_ROW.fullmatch(lines[i]) and lines[i - 1].lstrip().startswith("|"):
            rows = []
            j = i + 1
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                rows.append(j)
                j += 1
            if rows:
                tables.append(rows)
    kept = [len(rows) for rows in tables]
    lengths = [text_length(line) + 1 for line in lines]
    # Each cut table gets one row saying so; count it as if every table were cut.
    over = sum(lengths) - 1 - budget + 80 * len(tables)
    while over > 0:
        candidates = [t for t in range(len(tables)) if kept[t] > MIN_TABLE_ROWS]
        if not candidates:
            break
        t = max(candidates, key=lambda c: kept[c])
        kept[t] -= 1
        over -= lengths[tables[t][kept[t]]]

    dropped: set[int] = set()
    notes: dict[int, str] = {}
    total = 0
    for t, rows in enumerate(tables):
        cut = len(rows) - kept[t]
        if cut:
            total += cut
            dropped.update(rows[kept[t]:])
            notes[rows[-1]] = f"| _… {cut:,} more {'row' if cut == 1 else 'rows'} left out_ |"
    out = []
    for i, line in enumerate(lines):
        if i in notes:
            out.append(notes[i])
        elif i not in dropped:
            out.append(line)
    return "\n".join(out), total


def lines_within(text: str, room: int) -> list[str]:
    """The first whole lines of *text* that fit in *room* UTF-16 units, newlines counted."""
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        size = text_length(line) + 1
        if used + size > room:
            break
        kept.append(line)
        used += size
    return kept


def _cut_tail(text: str, budget: int) -> str:
    """The text cut at a line break, with open code fences and <details> closed."""
    closing = "\n```\n</details>\n"
    kept = lines_within(text, max(budget - text_length(closing), 0))
    cut = "\n".join(kept) + "\n"
    fences = sum(1 for line in kept if line.lstrip().startswith(("```", "~~~")))
    if fences % 2:
        cut += "```\n"
    opened = len(re.findall(r"<details\b", cut, re.IGNORECASE))
    closed = len(re.findall(r"</details\s*>", cut, re.IGNORECASE))
    cut += "</details>\n" * max(opened - closed, 0)
    return cut


# --- finding and writing the comment ---


@dataclass(frozen=True)
class Comment:
    id: int
    url: str  # html_url, what people open
    body: str
    author: str


@dataclass(frozen=True)
class CommentResult:
    action: Literal["created", "updated"]
    id: int
    url: str


def find_comment(
    client: GitHubClient,
    path: str,
    marker: str,
    author: str,
    *,
    body: str | None = None,
) -> Comment | None:
    """The oldest comment by *author* that starts with *marker* (and equals *body*, if given).

    Reads the pages only as far as the comment: one request per 100 comments before it.
    """
    for item in client.paginate(path):
        comment = _comment_from(item)
        if comment is None or comment.author.lower() != author.lower():
            continue
        if not comment.body.lstrip().startswith(marker):
            continue
        if body is None or _same_body(comment.body, body):
            return comment
    return None


def _comment_from(item: Any) -> Comment | None:
    if not isinstance(item, dict):
        return None
    user = item.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    comment_id, url, body = item.get("id"), item.get("html_url"), item.get("body")
    if not isinstance(comment_id, int) or not isinstance(login, str):
        return None
    return Comment(
        id=comment_id,
        url=url if isinstance(url, str) else "",
        body=body if isinstance(body, str) else "",
        author=login,
    )


def _same_body(stored: str, sent: str) -> bool:
    return stored.replace("\r\n", "\n").strip() == sent.replace("\r\n", "\n").strip()


def publish_comment(
    client: GitHubClient,
    *,
    owner: str,
    repo: str,
    number: int,
    key: str,
    mode: CommentMode,
    render: Callable[[str | None], str],
    recheck_delay: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> CommentResult | None:
    """Create or update the comment of *key* on pull request *number*; None when mode is off.

    *render* builds the body from the previous comment's body (None when there is none).
    ``update`` edits the token's own marked comment or creates it; ``new`` always creates one.
    Costs, for an update: GET /user, one listing per 100 comments up to ours, one PATCH.
    """
    if mode == "off":
        return None
    path = f"/repos/{owner}/{repo}/issues/{number}/comments"
    marker = comment_marker(key)
    writer = _Writer(client, path, marker, recheck_delay, sleep)
    if mode == "update":
        existing = find_comment(client, path, marker, writer.author())
        if existing is not None:
            body = render(existing.body)
            try:
                return writer.update(existing.id, body)
            except GitHubNotFoundError:
                # Deleted between the listing and the edit: post it afresh.
                log.info("comment %d disappeared; creating a new one", existing.id)
            return writer.create(body, sticky=True)
        return writer.create(render(None), sticky=True)
    return writer.create(render(None), sticky=False)


class _Writer:
    """Creates and edits comments, and knows who it writes as (asked once, when needed)."""

    def __init__(
        self,
        client: GitHubClient,
        path: str,
        marker: str,
        recheck_delay: float,
        sleep: Callable[[float], None],
    ) -> None:
        self.client = client
        self.path = path
        self.marker = marker
        self.recheck_delay = recheck_delay
        self.sleep = sleep
        self._author: str | None = None

    def author(self) -> str:
        """The login the token writes as: GET /user, or the Actions bot that it cannot see."""
        if self._author is None:
            self._author = self.client.get_authenticated_user() or ACTIONS_BOT_LOGIN
        return self._author

    def update(self, comment_id: int, body: str) -> CommentResult:
        # A PATCH replaces the body whole or not at all: the old comment survives a failure.
        path = self.path.rsplit("/issues/", 1)[0] + f"/issues/comments/{comment_id}"
        data = self.client.patch_json(path, {"body": body})
        return _result("updated", data, comment_id)

    def create(self, body: str, *, sticky: bool) -> CommentResult:
        """POST the comment; after a POST that may have landed, look before posting again."""
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                data = self.client.post_json(self.path, {"body": body})
            except GitHubUncertainWriteError:
                if attempt == CREATE_ATTEMPTS:
                    raise
                log.info("the comment may have been created; listing the comments again")
                self.sleep(self.recheck_delay)  # let GitHub's listing catch up with the write
                found = find_comment(
                    self.client, self.path, self.marker, self.author(),
                    body=None if sticky else body,
                )
                if found is None:
                    continue
                if _same_body(found.body, body):
                    return CommentResult("created", found.id, found.url)
                # Another run created the sticky comment meanwhile: ours is newer.
                return self.update(found.id, body)
            return _result("created", data, None)
        raise AssertionError("unreachable")  # the loop returns or raises


def _result(
    action: Literal["created", "updated"], data: Any, fallback_id: int | None
) -> CommentResult:
    comment = _comment_from(data) if isinstance(data, dict) else None
    if comment is not None:
        return CommentResult(action, comment.id, comment.url)
    return CommentResult(action, fallback_id or 0, "")
