"""The untrusted mode of the templates: a report from someone else's run, shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from gfm_inert import PAYLOADS, headings_of, hostile_report, inert_problems, to_html

from factories import make_card, make_report
from mlops_ci.card import render_card_body
from mlops_ci.render import render_report_md
from mlops_ci.render_untrusted import (
    code_span,
    defuse_markers,
    prose_block,
    render_untrusted_card_body,
    render_untrusted_report_md,
)

LIVE = [p for p in PAYLOADS if not p.startswith(("`", "|", "::"))]


@pytest.mark.parametrize("payload", LIVE)
def test_the_checker_sees_each_payload_when_it_is_live(payload: str) -> None:
    """The checker can fail: every payload, pasted into markdown raw, is caught."""
    assert inert_problems(f"Some text\n\n{payload}\n\nmore text", headings=0) != []


def test_the_trusted_rendering_of_a_hostile_report_is_not_inert() -> None:
    """What `mlops-ci comment` published before: report.md of the artifact, as is."""
    benign = headings_of(render_report_md(make_report()))
    problems = inert_problems(render_report_md(hostile_report()), headings=benign)
    kinds = {p.split(" ")[1] for p in problems}
    assert {"<img>", "link", "mention", "issue", "HTML"} <= kinds, problems


def test_an_untrusted_report_is_inert() -> None:
    benign = headings_of(render_untrusted_report_md(make_report()))
    markdown = render_untrusted_report_md(hostile_report())
    assert inert_problems(markdown, headings=benign) == []
    assert "<!--" not in markdown


def test_the_card_body_alone_is_inert() -> None:
    benign = headings_of(render_untrusted_card_body(make_report()))
    card = render_untrusted_card_body(hostile_report())
    assert inert_problems(card, headings=benign) == []


def test_prose_is_a_fenced_text_block_that_keeps_its_lines() -> None:
    text = "# Heading\n```\n</details>\n@octocat ![x](https://evil/x.png)"
    html = to_html(f"Intro: {prose_block(text)}after")
    assert "<pre lang=\"text\"><code># Heading\n```\n&lt;/details&gt;\n@octocat ![x]" in html
    assert inert_problems(f"Intro: {prose_block(text)}after", headings=0) == []


def test_a_code_span_never_opens_a_comment() -> None:
    span = code_span("x <!-- mlops-ci:history AAAA --> y")
    assert "<!--" not in span and defuse_markers("<!--") != "<!--"
    assert to_html(span).count("<code>") == 1


def test_the_trusted_path_keeps_the_repositorys_own_markdown() -> None:
    """report.md from `mlops-ci run`: prose from the repository's mlops.yaml stays rich."""
    report = make_report(card=make_card(description="**Bold** and [docs](https://example.com)."))
    assert '<strong>Bold</strong> and <a href="https://example.com">docs</a>' in to_html(
        render_card_body(report)
    )
    shown = to_html(render_untrusted_card_body(report))
    assert "<strong>Bold" not in shown and "**Bold** and [docs](https:" in shown


def test_a_trusted_template_that_prints_raw_values_still_shows_text(tmp_path: Path) -> None:
    """Anything a template prints without our filters goes through inert_text."""
    (tmp_path / "report.md.j2").write_text(
        "## {{ report.title }}\n\n"
        "{% for m in metrics %}- {{ m.name }} in {{ m.file ~ '!' }}: {{ m.head }}\n{% endfor %}\n"
        "{{ report.card.description }}\n\n{{ card_body | trim }}\n",
        encoding="utf-8",
    )
    (tmp_path / "model-card.md.j2").write_text(
        "{{ report.model.name }} {{ report.card.owners | join(', ') }}\n", encoding="utf-8"
    )
    markdown = render_untrusted_report_md(hostile_report(), tmp_path)
    assert inert_problems(markdown, headings=1) == []
    assert to_html(markdown).count("<li>") == 3  # the template's own list still is one


def test_trimmed_prose_printed_inline_stays_a_block(tmp_path: Path) -> None:
    (tmp_path / "model-card.md.j2").write_text(
        "Description: {{ report.card.description | prose | trim }} and "
        "{{ report.card.caveats | prose | trim }}.\n",
        encoding="utf-8",
    )
    card = render_untrusted_card_body(hostile_report(), tmp_path)
    assert inert_problems(card, headings=0) == []


def test_the_cards_macro_tables_stay_tables_when_untrusted() -> None:
    """The data-version tables and the registry line come from template macros; their cells
    were made inert inside the macro, so the macro's output is markdown, not text to escape."""
    report = make_report()
    untrusted = to_html(render_untrusted_card_body(report))
    trusted = to_html(render_card_body(report))
    for html in (untrusted, trusted):
        assert ">Path</th>" in html and "<code>data/raw/churn.csv</code>" in html
    assert "\\|" not in render_untrusted_card_body(report).split("Data versions", 1)[1][:300]
