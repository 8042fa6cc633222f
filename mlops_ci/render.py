"""Render a Report for people: value formatting, markdown filters and report.md's templates.

Pure functions: a Report in, a string out. jinja2 costs about 0.1 s to import, so it is imported
inside the functions that render templates. The terminal table is in render_terminal.py.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mlops_ci.compare import is_number, json_safe
from mlops_ci.errors import ConfigError
from mlops_ci.gates import failure_text
from mlops_ci.report import GateResult, MetricDiff, Report
from mlops_ci.security import MD_ESCAPES

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

MISSING = "—"
MINUS = "\u2212"  # a real minus sign: the same width as "+", so signed columns line up

REPORT_TEMPLATE = "report.md.j2"

CHANGE_MARKS: dict[str, str] = {
    "better": "🟢 better",
    "worse": "🔴 worse",
    "unchanged": "⚪ unchanged",
    "new": "🆕 new",
    "removed": "➖ removed",
    "changed": "🔄 changed",
    "unknown": "❓ base unreadable",
}

STATUS_MARKS: dict[str, str] = {
    "pass": "✅ pass",
    "fail": "❌ fail",
    "warn": "⚠️ warning",
    "new": "🆕 new",
}

_MD_ESCAPES = str.maketrans(MD_ESCAPES)


# --- value formatting (shared by the templates and the terminal) ---


def _format_magnitude(value: float, digits: int) -> str:
    """*digits* decimals; a non-zero value that would round to zero keeps *digits* significant."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞"
    text = f"{value:.{digits}f}"
    if value != 0 and float(text) == 0:
        text = f"{value:.{max(digits, 1)}g}"
    return text


def format_value(value: Any, digits: int | None = 4) -> str:
    """Plain text for a metric or param value: "—" for None, JSON for lists and mappings.

    Numbers are rounded to *digits* decimals; ``digits=None`` keeps them as written (params).
    """
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value).lower()
    if is_number(value):
        if digits is None:
            return repr(value)
        text = _format_magnitude(abs(value), digits)
        negative = value < 0 and text.strip("0.") != ""
        return f"-{text}" if negative else text
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):  # NaN, infinities, 10**400: not numbers, shown as text
        return str(json_safe(value))
    return json.dumps(json_safe(value), sort_keys=True)


def format_signed(delta: Any, digits: int = 4) -> str:
    """+0.0123 / −0.0123; "—" when there is no delta."""
    if delta is None:
        return MISSING
    if not is_number(delta):
        return format_value(delta, digits)
    text = _format_magnitude(abs(delta), digits)
    if text.strip("0.") == "":  # rounds to nothing: no sign to show
        return text
    return ("+" if delta > 0 else MINUS) + text


def format_pct(value: Any, digits: int = 2) -> str:
    """A percentage that is already × 100: +1.23% / −4.50%."""
    text = format_signed(value, digits)
    return text if text == MISSING else f"{text}%"


def short_sha(rev: str | None, length: int = 7) -> str:
    return rev[:length] if rev else MISSING


# --- markdown filters ---


def md(value: Any) -> str:
    """Escape text for a GFM table cell or inline markdown; newlines become spaces."""
    text = value if isinstance(value, str) else format_value(value)
    text = " ".join(text.splitlines())
    return text.translate(_MD_ESCAPES)


def num(value: Any, digits: int | None = None) -> str:
    """A value for a cell: rounded to *digits* decimals, or as written when digits is None."""
    return md(format_value(value, digits))


def signed(delta: Any, digits: int = 4) -> str:
    return md(format_signed(delta, digits))


def pct(value: Any, digits: int = 2) -> str:
    return md(format_pct(value, digits))


def code(value: Any, table: bool = True) -> str:
    """An inline code span that holds any text, backticks included.

    Inside a GFM table a pipe splits the cell even within a code span, so ``table=True``
    escapes it (GitHub shows the bare pipe); outside a table the escape would show.
    """
    if value is None or value == "":
        return MISSING
    text = " ".join(str(value).splitlines())
    if table:
        text = text.replace("|", "\\|")
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    # CommonMark drops one space from each end when both ends have one; the pad keeps them
    spaced = text.startswith(" ") and text.endswith(" ") and text.strip() != ""
    pad = " " if text.startswith("`") or text.endswith("`") or spaced else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# What makes `<` the start of raw HTML or an autolink for a CommonMark parser.
_TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")


def prose(value: Any) -> str:
    """Human-written markdown (the card's texts): kept as markdown, but raw HTML shows as text.

    A stray ``</details>`` would otherwise close the fold the card sits in. Only a ``<`` that
    could open a tag, a comment or an autolink becomes ``&lt;``: ``x < 5`` stays as written.
    Inside code the entity shows (`` `<unk>` ``); telling code apart would need a markdown
    parser, and a wrong guess would let HTML through.
    """
    return _TAG_OPENER.sub("&lt;", str(value).strip())


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural_form or word + 's')}"


# --- queries the templates and the terminal share ---


def ordered_metrics(report: Report) -> list[MetricDiff]:
    """The primary metric first, the others in report order."""
    def is_primary(m: MetricDiff) -> bool:
        return m.primary or (report.primary_metric is not None and m.name == report.primary_metric)

    return sorted(report.metrics, key=lambda m: not is_primary(m))


def gate_result_status(gate: GateResult) -> str:
    """pass / fail / warn / new for one rule: a failed warning-severity rule warns."""
    if gate.verdict == "fail":
        return "fail" if gate.severity == "error" else "warn"
    return gate.verdict


def gate_status(report: Report, metric: MetricDiff | str) -> str | None:
    """The worst status among the rules on *metric*; None when no gate names it.

    A gate names a metric as ``name`` or as ``file:name``; a metric the head no longer has is
    checked by no gate. A slice gate judges the metric on the slice's rows, not the row's
    value on all rows, so it marks no row of the metric table.
    """
    if isinstance(metric, str):
        names = {metric}
    elif metric.change == "removed":
        return None
    else:
        names = {metric.name, f"{metric.file}:{metric.name}"}
    statuses = {
        gate_result_status(g) for g in report.gates if g.metric in names and not g.slice
    }
    for status in ("fail", "warn", "new", "pass"):
        if status in statuses:
            return status
    return None


def gate_label(gate: GateResult) -> str:
    """``accuracy max_drop 0.01`` as plain text; ``recall min 0.8 on sex = female`` on a slice."""
    from mlops_ci.render_evaluation import slice_text

    where = slice_text(gate.slice)
    return f"{gate.metric} {gate.rule} {gate.threshold_text}" + (f" on {where}" if where else "")


def status_mark(status: str | None) -> str:
    return (STATUS_MARKS.get(status) or md(status)) if status else MISSING


def change_mark(change: str) -> str:
    return CHANGE_MARKS.get(change, md(change))


def hyperparams(report: Report) -> list[tuple[str, Any]]:
    """Params at head as (name, value); the "file:" prefix only when several files hold params."""
    files = {key.partition(":")[0] for key in report.params_head if ":" in key}
    if len(files) > 1:
        return list(report.params_head.items())
    return [(key.partition(":")[2] or key, value) for key, value in report.params_head.items()]


def render_summary_line(report: Report) -> str:
    """One line: the verdict and gates.py's sentence, for annotations and the terminal."""
    verdict = report.verdict
    if verdict.status == "fail":
        label = "Failed"
        fallback = f"{failure_text(report)}."
    elif verdict.warnings:
        label = "Passed with warnings"
        fallback = f"{failure_text(report)}."
    else:
        label = "Passed"
        fallback = "no gate failed." if report.gates else "no gates are declared."
    summary = " ".join(verdict.summary.split()) or fallback
    return f"{label} — {summary}"  # the terminal defuses it (_terminal_safe); statuses are API text


# --- templates ---


def make_environment(template_dir: Path | None = None) -> SandboxedEnvironment:
    """The sandboxed jinja2 environment; templates in *template_dir* win over the packaged ones."""
    from jinja2 import ChoiceLoader, PackageLoader, StrictUndefined
    from jinja2.loaders import BaseLoader
    from jinja2.sandbox import SandboxedEnvironment

    from mlops_ci.render_evaluation import evidence_text, intervals_text, md_interval, slice_text
    from mlops_ci.template_files import TemplateDirLoader

    loaders: list[BaseLoader] = []
    if template_dir is not None:
        if not template_dir.is_dir():
            raise ConfigError(
                f"report.template_dir: {template_dir} is not a directory; create it or remove "
                "the key to use the packaged templates."
            )
        loaders.append(TemplateDirLoader(template_dir))
    loaders.append(PackageLoader("mlops_ci.templates", "."))  # the top-level templates/
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=False,  # markdown, not HTML: the md filter escapes what must be escaped
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        num=num,
        signed=signed,
        pct=pct,
        md=md,
        code=code,
        prose=prose,
        short=short_sha,
        plural=plural,
        change_mark=change_mark,
        status_mark=status_mark,
        gate_status=gate_result_status,
        gate_label=gate_label,
        # plain text (render_evaluation.py): print them through md or code
        interval=md_interval,
        intervals_text=intervals_text,
        evidence=evidence_text,
        slice_text=slice_text,
        # a macro's output, whose values the filters inside it already rendered (the untrusted
        # environment keeps it as it is, instead of showing its markdown as text)
        rendered=lambda value: value,
    )
    env.globals.update(metric_gate_status=gate_status, failure_text=failure_text)
    return env


def render_template(
    name: str,
    context: Mapping[str, Any],
    template_dir: Path | None = None,
    *,
    environment: SandboxedEnvironment | None = None,
) -> str:
    """Render template *name*; an error in a user template becomes a one-sentence ConfigError.

    *environment* replaces make_environment(template_dir) (the untrusted mode's, for one).
    """
    env = environment or make_environment(template_dir)
    try:
        return env.get_template(name).render(**context)
    except ConfigError:
        raise  # the template loader's refusal is already one sentence with its fix
    except Exception as exc:
        error = _user_template_error(exc, template_dir)
        if error is None:
            raise  # a packaged template failed: our bug, the traceback is for us
        raise error from None


def _user_template_error(exc: Exception, template_dir: Path | None) -> ConfigError | None:
    from jinja2 import TemplateSyntaxError

    if template_dir is None:
        return None
    root = os.path.normpath(os.path.abspath(template_dir))

    def in_user_dir(filename: str | None) -> bool:
        if not filename:
            return False
        path = os.path.normpath(os.path.abspath(filename))
        return os.path.commonpath([root, path]) == root

    filename: str | None = None
    line: int | None = None
    if isinstance(exc, TemplateSyntaxError) and in_user_dir(exc.filename):
        filename, line = exc.filename, exc.lineno
    else:
        # jinja rewrites the traceback so that template frames carry the template's file and line
        filename, line = _innermost_frame(exc.__traceback__, in_user_dir)
    if filename is None:
        return None
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    message = " ".join(str(message).split()).rstrip(".")
    where = f"{filename}, line {line}" if line else filename
    return ConfigError(
        f"{where}: {message}; fix the template, or delete it to use the packaged one."
    )


def _innermost_frame(
    tb: TracebackType | None, wanted: Any
) -> tuple[str | None, int | None]:
    found: tuple[str | None, int | None] = (None, None)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if wanted(filename):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def render_report_md(report: Report, template_dir: Path | None = None) -> str:
    """report.md: the pull-request comment body and the job summary (GitHub-flavoured markdown)."""
    # card.py renders through this module's environment; importing it here avoids a cycle
    from mlops_ci.card import render_card_body

    context = report_context(report, render_card_body(report, template_dir))
    return render_template(REPORT_TEMPLATE, context, template_dir)


def report_context(report: Report, card_body: str) -> dict[str, Any]:
    """What the report template reads."""
    from mlops_ci.render_evaluation import evaluation_md
    from mlops_ci.render_plots import render_plots_md

    return {
        "report": report,
        "metrics": ordered_metrics(report),
        "multi_file": len({m.file for m in report.metrics}) > 1,
        "card_body": card_body,
        "plots_md": render_plots_md(report),  # inert already: names pass inert_text
        # the chart across releases and the confusion matrix; inert already, "" when neither
        "evaluation_md": evaluation_md(report),
    }
