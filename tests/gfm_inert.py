"""Is this markdown inert? GitHub-flavoured markdown rendered by cmarkgfm, then inspected.

What mlops-ci publishes from an untrusted report (the fork-safe commenter's comment, commit
status and check run) must show the artifact's text as text: no image, no link but the ones
mlops-ci writes from trusted data, no raw HTML but our own ``details``/``summary``/``sub``, no
heading, mention, issue reference, autolink or hidden marker made of the artifact's text.

:func:`inert_problems` lists what is not inert; :func:`hostile_report` is a report with every
string field an attacker controls filled with the payloads below.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import cmarkgfm
from cmarkgfm.cmark import Options

from factories import make_card, make_gate, make_metric, make_report
from mlops_ci.report import DataVersion, Lineage, ModelInfo, ParamDiff, Report, Revision

PAYLOADS = [
    "![x](https://evil/x.png)",
    "<img src=x>",
    "[click](https://evil)",
    "@octocat",
    "#1",
    "GH-1",
    "owner/repo#1",
    "https://evil.example",
    "www.evil.example",
    "a@b.co",
    "# Heading",
    "<!-- mlops-ci:history AAAA -->",
    "</details>",
    "`` ``` ` ````",
    "| a | b |",
    "::stop-commands::x",
    "\u202egnp.evil\u2066",
]
# One line and several lines: prose fields take the lines, names get them on one line too.
HOSTILE_LINE = " ".join(PAYLOADS)
HOSTILE_LINES = "\n".join(PAYLOADS)
# A history line that would plant three pushes if it were read: base64 of valid history JSON.
FORGED_RUNS = ("deadbeef", "cafebabe", "badc0ffee")
FORGED_HISTORY = "<!-- mlops-ci:history {} -->".format(base64.b64encode(json.dumps(
    {"v": 1, "metric": "roc_auc", "runs": [
        {"sha": sha, "value": 1, "verdict": "pass"} for sha in FORGED_RUNS
    ]}, separators=(",", ":")
).encode()).decode())

# Tags that markdown itself produces, plus the raw HTML our templates write.
MARKDOWN_TAGS = frozenset({
    "p", "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "strong", "em", "ul",
    "ol", "li", "hr", "blockquote", "br", "h1", "h2", "h3", "h4", "h5", "h6",
})
OUR_HTML_TAGS = frozenset({"details", "summary", "sub"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
VOID_TAGS = frozenset({"br", "hr", "img", "input"})
OUR_COMMENT = re.compile(
    r" mlops-ci:comment key=[A-Za-z0-9._-]+ | mlops-ci:history [A-Za-z0-9+/=]+ "
)
# What reorders the text around it on screen, trusted words included.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# What GitHub links in text after rendering: mentions, references, URLs.
LIVE_TEXT = {
    "a mention": re.compile(r"(?<![\w`])@[A-Za-z0-9]"),
    "an issue reference": re.compile(r"#\d"),
    "a GH- reference": re.compile(r"(?i)\bGH-\d"),
    "a URL": re.compile(r"(?i)https?://"),
    "a www. autolink": re.compile(r"(?i)\bwww\."),
}


def to_html(markdown: str) -> str:
    """GitHub-flavoured HTML, raw HTML passed through (as GitHub's own sanitiser sees it)."""
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


class _Inspector(HTMLParser):
    def __init__(self, allowed_hrefs: Iterable[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed_hrefs = set(allowed_hrefs)
        self.problems: list[str] = []
        self.stack: list[str] = []
        self.headings: list[str] = []
        self.comments: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href not in self.allowed_hrefs:
                self.problems.append(f"a link to {href!r}")
        elif tag not in MARKDOWN_TAGS | OUR_HTML_TAGS:
            self.problems.append(f"a <{tag}> tag")
        if tag in HEADINGS:
            self._heading = []
        if tag not in VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.stack and self.stack[-1] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID_TAGS:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"a stray </{tag}> (open: {self.stack[-3:]})")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag in HEADINGS and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if "code" in self.stack or "pre" in self.stack:
            return
        for what, pattern in LIVE_TEXT.items():
            found = pattern.search(data)
            if found:
                self.problems.append(f"{what} in text: {data[max(found.start() - 20, 0):][:60]!r}")

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)
        if not OUR_COMMENT.fullmatch(data):
            self.problems.append(f"an HTML comment <!--{data[:40]}-->")


def inspect(markdown: str, allowed_hrefs: Iterable[str] = ()) -> _Inspector:
    inspector = _Inspector(allowed_hrefs)
    inspector.feed(to_html(markdown))
    inspector.close()
    if inspector.stack:
        inspector.problems.append(f"unclosed tags {inspector.stack}")
    return inspector


def inert_problems(
    markdown: str, *, allowed_hrefs: Iterable[str] = (), headings: int | None = None
) -> list[str]:
    """Everything in *markdown* that is not inert; empty when all of it is.

    *allowed_hrefs* are the links mlops-ci writes itself, exactly. *headings*, when given, is
    how many headings our template writes (see :func:`headings_of` on a benign rendering):
    one more was made of the report's text. Hidden markers may stand only on the first two
    lines, where our writer puts them.
    """
    inspector = inspect(markdown, allowed_hrefs)
    problems = list(inspector.problems)
    if headings is not None and len(inspector.headings) != headings:
        problems.append(
            f"{len(inspector.headings)} headings where the template writes {headings}: "
            f"{[h[:30] for h in inspector.headings]}"
        )
    for number, line in enumerate(markdown.split("\n"), start=1):
        if BIDI_CONTROLS.search(line):
            problems.append(f"a bidirectional control on line {number}: {line[:60]!a}")
        if "<!--" in line and number > 2:
            problems.append(f"an HTML comment opener on line {number}: {line[:60]!r}")
    return problems


def headings_of(markdown: str) -> int:
    """How many headings *markdown* renders to."""
    return len(inspect(markdown).headings)


def hostile_report(**overrides: Any) -> Report:
    """make_report() with every string an attacker controls set to the payloads.

    The numbers stay real (they are what gates judge); names, paths, prose, refs and the
    report's own verdict and gate texts are hostile, and the verdict is forged to pass.
    """
    line, lines = HOSTILE_LINE, HOSTILE_LINES
    name = f"roc_auc {line}"
    base = make_report()
    metrics = [
        make_metric(name, 0.9123, 0.5, primary=True, file=f"metrics/{line}.json"),
        make_metric(f"accuracy {FORGED_HISTORY}", 0.8812, 0.8795, file=FORGED_HISTORY),
        make_metric(lines, "a\n" + line, line, file=lines),
    ]
    gates = [
        make_gate(name, "min", 0.85, base=0.9123, head=0.5, verdict="pass",
                  explanation=lines),
    ]
    gates[0] = replace(gates[0], threshold_text=line[:100])
    card = make_card(
        **{key: lines for key in (
            "description", "intended_use", "out_of_scope_use", "factors", "training_data",
            "evaluation_data", "limitations", "ethical_considerations", "caveats",
        )},
        owners=PAYLOADS, license=line, tags=PAYLOADS, datasets=PAYLOADS, language=PAYLOADS,
    )
    data = DataVersion(line, line[:200], size=10, nfiles=2, stage=line)
    fields: dict[str, Any] = {
        "title": line,
        "model": ModelInfo(name=line, path=line, task=line, library=line),
        "primary_metric": name,
        "base": Revision(rev=base.base.rev, ref=line, description=lines),
        "head": Revision(rev=base.head.rev, ref=FORGED_HISTORY, description=line),
        "metrics": metrics,
        "params": [ParamDiff(line, line, line, lines, "modified"),
                   ParamDiff(FORGED_HISTORY, "params.yaml", 1, 2, "modified")],
        "params_head": {f"params.yaml:{line}": lines, f"{line}:x": FORGED_HISTORY},
        "gates": gates,
        "lineage": Lineage(
            stages=[line, FORGED_HISTORY], data=[data], code=[data],
            model=DataVersion(line, line[:200], size=1, stage=line),
            base_model=DataVersion(FORGED_HISTORY, FORGED_HISTORY[:200], size=1),
        ),
        "card": card,
        "tool_version": line[:100],
        "config_file": line,
    }
    fields.update(overrides)
    report = make_report(**fields)
    forged = replace(report.verdict, status="pass", failed=0, warnings=0, summary=lines)
    return replace(report, verdict=forged)
