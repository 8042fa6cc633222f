"""Render a report that someone else wrote: every value from it reaches the page as text.

The fork-safe commenter publishes, with a token that may write, a report.json that a pull
request's own code produced. The same templates as report.md render it (the packaged ones, or
the trusted checkout's ``report.template_dir``), in a mode where:

- the filters (``md``, ``code``, ``num``, ``prose``, ...) render through :mod:`security`:
  names and values as inert text or checked code spans, prose as a fenced text block;
- every other value a template prints (``{{ x }}`` without one of those filters) is passed
  through ``inert_text`` by jinja's ``finalize`` hook, so a template cannot let raw text out;
- nothing from the report can spell ``<!--``, so no field can plant a hidden marker.

What the templates themselves write stays as written: they are the trusted repository's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.render import (
    CHANGE_MARKS,
    STATUS_MARKS,
    code,
    format_pct,
    format_signed,
    format_value,
)
from mlops_ci.security import inert_block, inert_text, visible_order

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

    from mlops_ci.report import Report

_WJ = "\u2060"  # WORD JOINER: invisible, and "<!⁠--" opens no HTML comment


class Inert(str):
    """Markdown that shows untrusted text as text: built here, printed by templates as is."""


def defuse_markers(text: str) -> str:
    """*text* unable to open an HTML comment (where our hidden markers live), same to read,
    and in the order it is stored (no bidirectional control reorders the line around it)."""
    return visible_order(text).replace("<!--", f"<!{_WJ}--")


def text(value: Any, digits: int | None = 4) -> Inert:
    """A value for inline markdown or a table cell: plain text, one line."""
    shown = value if isinstance(value, str) else format_value(value, digits)
    return Inert(inert_text(shown))


def code_span(value: Any, table: bool = True) -> Inert:
    """A code span that GitHub shows as text: no link, mention or marker inside it."""
    return Inert(code(None if value is None else defuse_markers(str(value)), table))


def prose_block(value: Any) -> Inert:
    """Prose as a fenced text block, on lines of its own wherever a template puts it."""
    return Inert(f"\n{inert_block(defuse_markers(str(value).strip()))}\n")


def card_text(report: Report, key: str) -> Inert:
    """The untrusted twin of card.card_text."""
    value = getattr(report.card, key)
    if value and value.strip():
        return prose_block(value)
    return Inert(f"_Not provided: add `card.{key}` to {inert_text(report.config_file)}._")


def _finalize(value: Any) -> Any:
    # Whatever a template prints that did not come through our filters is shown as text.
    return value if isinstance(value, Inert) else inert_text("" if value is None else value)


def _trim(value: Any, chars: str | None = None) -> Any:
    trimmed = str(value).strip(chars)
    if not isinstance(value, Inert):
        return trimmed
    # A block (a fenced prose block first of all) must keep starting on a line of its own,
    # wherever the template prints it: inline, its fence would be text and its lines live.
    return Inert(f"\n{trimmed}\n") if "\n" in trimmed else Inert(trimmed)


def untrusted_environment(template_dir: Path | None = None) -> SandboxedEnvironment:
    """render.make_environment, with the filters and the output hook of this module."""
    from mlops_ci.render import make_environment

    env = make_environment(template_dir)
    env.finalize = _finalize  # read when a template compiles, so before any is loaded
    env.filters.update(
        md=lambda value: text(value),
        num=lambda value, digits=None: text(format_value(value, digits)),
        signed=lambda delta, digits=4: text(format_signed(delta, digits)),
        pct=lambda value, digits=2: text(format_pct(value, digits)),
        code=code_span,
        prose=prose_block,
        trim=_trim,
        # every value inside a macro passed _finalize or a filter above: its output is ours
        rendered=lambda value: Inert(value),
        status_mark=lambda s: Inert(STATUS_MARKS[s]) if s in STATUS_MARKS else text(s or "—"),
        change_mark=lambda c: Inert(CHANGE_MARKS[c]) if c in CHANGE_MARKS else text(c),
    )
    return env


def render_untrusted_card_body(report: Report, template_dir: Path | None = None) -> Inert:
    """The model card's body (no front matter) with the report's text inert."""
    from mlops_ci.card import CARD_TEMPLATE, card_context
    from mlops_ci.render import render_template

    env = untrusted_environment(template_dir)
    context = card_context(report, card_text)
    context["plots_md"] = Inert(context["plots_md"])  # render_plots writes names inert
    return Inert(render_template(CARD_TEMPLATE, context, template_dir, environment=env))


def render_untrusted_report_md(
    report: Report, template_dir: Path | None = None, card_body: Inert | None = None
) -> str:
    """report.md for an untrusted report: the comment body and the check run's summary."""
    from mlops_ci.render import REPORT_TEMPLATE, render_template, report_context

    if card_body is None:
        card_body = render_untrusted_card_body(report, template_dir)
    env = untrusted_environment(template_dir)
    context = report_context(report, card_body)
    context["plots_md"] = Inert(context["plots_md"])  # render_plots writes names inert
    context["evaluation_md"] = Inert(context["evaluation_md"])  # render_evaluation: inert too
    return render_template(REPORT_TEMPLATE, context, template_dir, environment=env)

