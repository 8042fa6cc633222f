"""report.md read back the way github.com reads it (cmark-gfm), and the terminal table."""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import cli, tree_state
from factories import (
    HOSTILE_NAMES,
    make_failing_report,
    make_first_run_report,
    make_gate,
    make_hostile_report,
    make_metric,
    make_report,
)
from mlops_ci.errors import ConfigError
from mlops_ci.render import (
    code,
    format_value,
    md,
    num,
    pct,
    prose,
    render_report_md,
    render_summary_line,
    signed,
)
from mlops_ci.render_terminal import display_width, render_table
from mlops_ci.report import ParamDiff, Report
from mlops_ci.schemas import validate_report

METRICS_HEADER = ["Metric", "Base", "Head", "Δ", "Δ %", "Change"]
GATES_HEADER = ["Gate", "Severity", "Result", "Explanation"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Page(HTMLParser):
    """The parts of the HTML the tests look at: tables as rows of cell texts, and all tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.paragraphs: list[str] = []
        self._cell: list[str] | None = None
        self._paragraph: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "p":
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._paragraph is not None:
            self.paragraphs.append("".join(self._paragraph).strip())
            self._paragraph = None
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._paragraph is not None:
            self._paragraph.append(data)


def to_html(markdown: str) -> str:
    # UNSAFE keeps raw HTML, and no tagfilter: escaping is our job, not the renderer's
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE,
        extensions=["table", "autolink", "strikethrough"],
    )


def parse(markdown: str) -> _Page:
    page = _Page()
    page.feed(to_html(markdown))
    return page


def table_with_header(page: _Page, header: list[str]) -> list[list[str]]:
    matches = [t for t in page.tables if t and t[0] == header]
    headers = [t[0] for t in page.tables]
    assert len(matches) == 1, f"expected one table headed {header}, found {headers}"
    return matches[0]


def row_for(table: list[list[str]], first_cell: str) -> list[str]:
    rows = [row for row in table[1:] if row[0] == first_cell]
    assert len(rows) == 1, f"no single row {first_cell!r} in {[r[0] for r in table]}"
    return rows[0]


# --- the factories are valid Reports ---


@pytest.mark.parametrize(
    "factory", [make_report, make_failing_report, make_first_run_report, make_hostile_report]
)
def test_factories_build_reports_the_schema_accepts(factory: object) -> None:
    report = factory()  # type: ignore[operator]
    validate_report(report.to_dict(), source="factory")
    assert Report.from_dict(report.to_dict()) == report


# --- filters ---


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.912345, 4, "0.9123"),
        (0.912345, 2, "0.91"),
        (0.91, 4, "0.9100"),
        (-0.5, 3, "-0.500"),
        (-0.00001, 2, "-1e-05"),  # would round to zero: keeps significant digits instead
        (1200, 4, "1200"),  # ints stay ints
        (None, 4, "—"),
        (True, 4, "true"),
        ("rbf", 4, "rbf"),
        ([1, 2], 4, "[1, 2]"),
        (0.2, None, "0.2"),  # params: as written
    ],
)
def test_format_value(value: object, digits: int | None, expected: str) -> None:
    assert format_value(value, digits) == expected


def test_signed_and_pct_use_a_real_minus_and_no_sign_for_zero() -> None:
    assert signed(0.0123, 4) == "+0.0123"
    assert signed(-0.0123, 4) == "\u22120.0123"
    assert signed(0.0, 4) == "0.0000"
    assert signed(None, 4) == "—"
    assert pct(-4.5) == "\u22124.50%"
    assert pct(None) == "—"


def test_num_escapes_strings_but_not_numbers() -> None:
    assert num("a|b") == "a\\|b"
    assert num(0.5, 2) == "0.50"


@pytest.mark.parametrize("text", ["|x|", "a\\|b", "<script>alert(1)</script>", "*a* _b_ `c` [d](e)",
                                  "x & y ~~z~~", "back\\slash\\"])
def test_md_survives_a_table_cell_and_reads_back_as_the_same_text(text: str) -> None:
    page = parse(f"| h |\n|---|\n| {md(text)} |\n\n{md(text)}\n")
    assert page.tables == [[["h"], [text]]]
    structure = {"table", "thead", "tr", "th", "tbody", "td", "p"}
    assert [t for t in page.tags if t not in structure] == []
    assert page.paragraphs == [text]  # inline, outside the table, too


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab; |\\`*_<>&[]~!#:-()/=\n\"'é"))))
def test_md_round_trips_any_text_through_a_cell_and_a_sentence(text: str) -> None:
    page = parse(f"| h | i |\n|---|---|\n| {md(text)} | x |\n\nsay {md(text)} now\n")
    flat = " ".join(text.splitlines())
    assert page.tables == [[["h", "i"], [flat.strip(), "x"]]]
    assert page.paragraphs == [f"say {flat} now"]
    assert set(page.tags) <= {"table", "thead", "tr", "th", "tbody", "td", "p"}


def test_md_turns_newlines_into_spaces() -> None:
    assert md("one\ntwo\r\nthree") == "one two three"


@pytest.mark.parametrize("text", ["a|b", "a`b", "``x``", "`", "a\\|b"])
def test_code_spans_hold_any_text(text: str) -> None:
    html = to_html(f"| h |\n|---|\n| {code(text)} |\n\n{code(text, table=False)}\n")
    page = _Page()
    page.feed(html)
    assert page.tables[0][1] == [text]
    assert page.paragraphs == [text]
    assert html.count("<code>") == 2


def test_prose_keeps_markdown_but_not_tags() -> None:
    html = to_html(prose("**bold** <b>tag</b> x < 5, a<=b <!-- c --> <https://x.test> <?p?>"))
    assert html == (
        "<p><strong>bold</strong> &lt;b&gt;tag&lt;/b&gt; x &lt; 5, a&lt;=b &lt;!-- c --&gt; "
        # the bare URL is still linked, by GFM's autolink extension, as github.com does
        '&lt;<a href="https://x.test%3E">https://x.test&gt;</a> &lt;?p?&gt;</p>\n'
    )


MARKDOWN_TAGS = {
    "p", "code", "pre", "em", "strong", "ul", "ol", "li", "blockquote", "hr", "br", "a", "img",
    "del", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}
CHUNKS = ["`", "``", "```", "\\", "<", ">", "</details>", "<script>", "<b x='`'>", "<!--", "-->",
          "<?", "<![CDATA[", "\n", "\n\n", "    ", "> ", "- ", "1. ", "~~~", "*", "_", "[", "](",
          ")", "|", "a", "/", "!", " ", "&", "#"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CHUNKS), max_size=30).map("".join))
def test_prose_never_lets_a_tag_through(text: str) -> None:
    page = _Page()
    page.feed(to_html(prose(text)))
    assert set(page.tags) <= MARKDOWN_TAGS


# --- report.md ---


def test_metrics_table_lists_the_primary_metric_first_and_marked() -> None:
    report = make_report()
    markdown = render_report_md(report)
    table = table_with_header(parse(markdown), METRICS_HEADER)
    assert len(table) == 1 + len(report.metrics)
    assert all(len(row) == len(METRICS_HEADER) for row in table)
    assert table[1][0] == "roc_auc (primary)"
    assert "| **roc\\_auc** (primary) |" in markdown


def test_metric_marks_follow_the_direction_of_each_metric() -> None:
    table = table_with_header(parse(render_report_md(make_report())), METRICS_HEADER)
    assert row_for(table, "roc_auc (primary)")[5] == "🟢 better"
    assert row_for(table, "accuracy")[1:] == ["0.8812", "0.8795", "\u22120.0017", "\u22120.19%",
                                              "🔴 worse"]
    assert row_for(table, "f1")[5] == "⚪ unchanged"
    # log_loss fell, and lower is better
    assert row_for(table, "log_loss")[3:] == ["\u22120.0134", "\u22124.29%", "🟢 better"]
    assert row_for(table, "n_test")[1:3] == ["1200", "1200"]


@pytest.mark.parametrize(("digits", "expected"), [(2, "0.88"), (3, "0.881"), (6, "0.881200")])
def test_metric_values_are_rounded_to_the_configured_digits(digits: int, expected: str) -> None:
    table = table_with_header(parse(render_report_md(make_report(digits=digits))), METRICS_HEADER)
    assert row_for(table, "accuracy")[1] == expected


def test_new_and_removed_metrics() -> None:
    report = make_report(metrics=[
        make_metric("roc_auc", 0.9, 0.91, primary=True),
        make_metric("recall", None, 0.75),
        make_metric("precision", 0.8, None),
    ])
    table = table_with_header(parse(render_report_md(report)), METRICS_HEADER)
    assert len(table) == 4
    assert row_for(table, "recall")[1:] == ["—", "0.7500", "—", "—", "🆕 new"]
    assert row_for(table, "precision")[1:] == ["0.8000", "—", "—", "—", "➖ removed"]


def test_hostile_names_stay_text_in_one_cell() -> None:
    report = make_hostile_report()
    markdown = render_report_md(report)
    page = parse(markdown)
    expected_names = [" ".join(n.split()) for n in HOSTILE_NAMES]

    metrics = table_with_header(page, METRICS_HEADER)
    assert all(len(row) == len(METRICS_HEADER) for row in metrics)
    assert [row[0] for row in metrics[2:]] == expected_names

    gates = table_with_header(page, GATES_HEADER)
    assert all(len(row) == len(GATES_HEADER) for row in gates)
    assert [row[0] for row in gates[1:]] == [f"{n} min 0.1" for n in expected_names]
    assert gates[1][3] == "|x| | is fine <b>bold</b>"

    params = table_with_header(page, ["Param", "Base", "Head"])
    assert params[1] == ["|p|", "<i>", "a|b"]

    # nothing became an element: no script, no img from the title, no bold from an explanation
    assert {"script", "img", "b", "i"}.isdisjoint(page.tags)
    assert page.text[0] == "Report <img src=x onerror=alert(3)> | title"


def test_card_text_cannot_close_the_details_fold_early() -> None:
    html = to_html(render_report_md(make_hostile_report()))
    assert html.count("<details>") == 1
    assert html.count("</details>") == 1
    assert html.index("Caveats and recommendations") < html.index("</details>")
    assert "<script" not in html


def test_gates_table_shows_each_rule_with_its_result() -> None:
    report = make_failing_report()
    page = parse(render_report_md(report))
    gates = table_with_header(page, GATES_HEADER)
    assert len(gates) == 1 + len(report.gates)
    assert gates[1:] == [
        ["roc_auc min 0.85", "error", "✅ pass", "roc_auc is 0.9051, at least 0.85 is required"],
        ["accuracy max_drop 0.01", "error", "❌ fail",
         "accuracy dropped 0.034, at most 0.01 is allowed"],
        ["log_loss max 0.4", "warning", "⚠️ warning", "log_loss is 0.4213, at most 0.4"],
    ]


@pytest.mark.parametrize(
    ("report", "line"),
    [
        (make_report(), "✅ Passed — no gate failed."),
        (make_failing_report(), "❌ Failed — 1 gate failed, 1 warning."),
        (make_report(gates=[make_gate("accuracy", "min", 0.9, severity="warning", verdict="fail")]),
         "⚠️ Passed with 1 warning."),
        (make_report(gates=[]), "✅ Passed — no gates are declared in mlops.yaml."),
    ],
)
def test_verdict_line(report: Report, line: str) -> None:
    assert line in parse(render_report_md(report)).paragraphs


def test_revisions_are_short_shas_with_their_refs() -> None:
    text = "".join(parse(render_report_md(make_report())).text)
    assert "Base: 1a2b3c4 on main (merge-base with main)" in text
    assert "Head: 9f8e7d6 on feature/deeper-trees (pull request head)" in text


def test_first_run_has_no_base() -> None:
    text = "".join(parse(render_report_md(make_first_run_report())).text)
    assert "Base: none" in text
    assert "No base revision: every metric is new." in text
    assert "Model models/model.pkl: b1c2d3e4 (new), 45.7 kB." in text


def test_params_changed_table_or_sentence() -> None:
    report = make_report(params=[
        ParamDiff("train.max_depth", "params.yaml", 8, 12, "modified"),
        ParamDiff("train.lr", "params.yaml", None, 0.05, "added"),
    ])
    params = table_with_header(parse(render_report_md(report)), ["Param", "Base", "Head"])
    assert params[1:] == [["train.max_depth", "8", "12"], ["train.lr (added)", "—", "0.05"]]

    text = "".join(parse(render_report_md(make_report(params=[]))).text)
    assert "No params changed between base and head." in text


def test_data_and_model_versions() -> None:
    page = parse(render_report_md(make_report()))
    text = "".join(page.text)
    assert "Model models/model.pkl: e5f6a7b8 → b1c2d3e4 (changed), 45.7 kB." in text
    assert "Stages: prepare → train → evaluate." in text
    lineage = table_with_header(page, ["Kind", "Path", "Stage", "md5", "Size"])
    assert lineage[1:] == [
        ["training data", "data/raw/churn.csv", "prepare", "3f2a9c0d", "1.2 MB"],
        ["training data", "data/prepared", "train", "8c1d2e3f", "987.7 kB in 2 files"],
        ["code", "src/prepare.py", "prepare", "0a1b2c3d", "2.0 kB"],
        ["code", "src/train.py", "train", "f9e8d7c6", "3.1 kB"],
    ]


def test_unchanged_model_is_said_so() -> None:
    report = make_report()
    lineage = replace(report.lineage, base_model=report.lineage.model)
    text = "".join(parse(render_report_md(replace(report, lineage=lineage))).text)
    assert "b1c2d3e4 → b1c2d3e4 (unchanged)" in text


def test_model_card_is_folded_in_without_its_front_matter() -> None:
    markdown = render_report_md(make_report())
    html = to_html(markdown)
    assert "<details><summary>Model card</summary>" in html
    inside = html[html.index("<details>"):html.index("</details>")]
    assert "<h1>Model card for churn-classifier</h1>" in inside
    assert "<h2>Quantitative analyses</h2>" in inside
    assert "model-index" not in markdown
    assert "library_name" not in markdown


def test_footer_names_the_tool_version() -> None:
    report = make_report(tool_version="9.8.7")
    assert "Generated by mlops-ci 9.8.7 at 2024-05-01T12:00:00Z" in "".join(
        parse(render_report_md(report)).text
    )


def test_metrics_from_several_files_name_their_file() -> None:
    report = make_report(metrics=[
        make_metric("f1", 0.7, 0.71, file="eval/train.json"),
        make_metric("f1", 0.6, 0.62, file="eval/test.json"),
    ], primary_metric=None)
    table = table_with_header(parse(render_report_md(report)), METRICS_HEADER)
    assert [row[0] for row in table[1:]] == ["f1 eval/train.json", "f1 eval/test.json"]


def test_no_metrics_and_no_gates_are_said_in_words() -> None:
    text = "".join(parse(render_report_md(make_report(metrics=[], gates=[]))).text)
    assert "No metrics were found." in text
    assert "No gates are declared: add gates to mlops.yaml" in text


# --- user templates ---


def test_a_user_template_wins_over_the_packaged_one(tmp_path: Path) -> None:
    (tmp_path / "report.md.j2").write_text(
        "# {{ report.title | md }}: {{ report.verdict.status }}, {{ metrics[0].name }}\n",
        encoding="utf-8",
    )
    assert render_report_md(make_report(), tmp_path) == "# Model report: pass, roc_auc\n"


def test_a_user_card_template_is_what_report_md_folds_in(tmp_path: Path) -> None:
    (tmp_path / "model-card.md.j2").write_text("Our own card for {{ report.model.name }}.\n",
                                               encoding="utf-8")
    markdown = render_report_md(make_report(), tmp_path)
    assert "<details><summary>Model card</summary>\n\nOur own card for churn-classifier.\n\n" \
           "</details>" in markdown
    assert "### Metrics" in markdown  # report.md.j2 itself still the packaged one


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [
        ("ok\n{% if report.title %}\nno endif\n", 3, "Unexpected end of template"),
        ("line one\nline two\n{{ report.nope }}\n", 3, "has no attribute 'nope'"),
        ("{{ undefined_name }}\n", 1, "'undefined_name' is undefined"),
        ("a\n{% include 'missing.j2' %}\n", 2, "missing.j2"),
        ("{{ report.__class__.__mro__ }}\n", 1, "unsafe"),
    ],
)
def test_a_broken_user_template_is_a_config_error_naming_file_and_line(
    tmp_path: Path, source: str, line: int, message: str
) -> None:
    template = tmp_path / "report.md.j2"
    template.write_text(source, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        render_report_md(make_report(), tmp_path)
    text = str(caught.value)
    assert text.startswith(f"{template}, line {line}: ")
    assert message in text
    assert "\n" not in text


def test_a_missing_template_dir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"report\.template_dir: .*nowhere is not a directory"):
        render_report_md(make_report(), tmp_path / "nowhere")


# --- terminal ---


def table_lines(output: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("metric"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip()
               or lines[i].startswith("* primary"))
    return lines[start:end]


def test_terminal_table_without_color_has_no_escape_codes() -> None:
    report = make_failing_report(metrics=[make_metric("evil\x1b[31m\x07", 0.1, 0.2)])
    output = render_table(report, color=False)
    assert "\x1b" not in output
    assert "\x07" not in output


def test_color_only_adds_escape_codes() -> None:
    report = make_failing_report()
    colored = render_table(report, color=True)
    assert "\x1b[" in colored
    assert ANSI.sub("", colored) == render_table(report, color=False)


def test_terminal_columns_line_up_with_wide_characters() -> None:
    report = make_report(metrics=[
        make_metric("roc_auc", 0.9123, 0.9287, primary=True),
        make_metric("精度", 0.5, 0.25),
        make_metric("a_very_long_metric_name", 12345.5, 1.0),
        make_metric("recall", None, 0.7),
    ])
    lines = table_lines(render_table(report, color=False))
    assert len(lines) == 5
    # every row ends its numeric columns at the same terminal column, where the gate column starts
    edges = {display_width(line.rpartition("  ")[0]) for line in lines}
    assert len(edges) == 1
    header = lines[0].split()
    assert header == ["metric", "base", "head", "Δ", "Δ%", "gate"]
    assert lines[1].startswith("roc_auc *")
    assert lines[2].split()[:3] == ["精度", "0.5000", "0.2500"]


def test_terminal_lists_failed_gates_and_ends_with_the_verdict() -> None:
    output = render_table(make_failing_report(), color=False)
    assert "  ✗ accuracy max_drop 0.01 (error): accuracy dropped 0.034, at most 0.01 is allowed" \
        in output.splitlines()
    assert "  ! log_loss max 0.4 (warning): log_loss is 0.4213, at most 0.4" in output.splitlines()
    assert output.splitlines()[-1] == render_summary_line(make_failing_report())
    accuracy = next(line for line in table_lines(output) if line.startswith("accuracy"))
    assert accuracy.split()[-1] == "FAIL"


def test_summary_line() -> None:
    assert render_summary_line(make_failing_report()).startswith(
        "Failed — 1 gate failed: accuracy dropped 0.034"
    )
    warned = make_report(gates=[make_gate("f1", "min", 0.9, severity="warning", verdict="fail")])
    assert render_summary_line(warned).startswith("Passed with warnings — 1 warning")
    assert render_summary_line(make_report()) == "Passed — All 3 gate rules passed."
    blank = make_report(verdict=replace(make_failing_report().verdict, summary=" "))
    assert render_summary_line(blank) == "Failed — 1 gate failed, 1 warning."
    two_rules = make_report(gates=[
        make_gate("acc", "min", 0.9, verdict="fail", gate_index=0),
        make_gate("acc", "max_drop", 0.01, verdict="fail", gate_index=0),
    ])
    two_rules = replace(two_rules, verdict=replace(two_rules.verdict, summary=""))
    assert render_summary_line(two_rules) == "Failed — 1 gate failed (2 rules)."
    assert "\n" not in render_summary_line(make_hostile_report())


# --- hostile numbers and text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (10**400, str(10**400)),  # f"{10**400:.4f}" raises OverflowError
        ([b"\x00"], '["!!binary AA=="]'),  # json.dumps raised TypeError
    ],
    ids=["nan", "-inf", "1e400", "bytes"],
)
def test_values_that_are_not_numbers_are_shown_as_text(value: object, expected: str) -> None:
    assert format_value(value, 4) == expected


def test_the_terminal_never_sees_a_lone_surrogate() -> None:
    report = make_report(metrics=[make_metric("a\ud800b", 0.5, 0.6)])
    output = render_table(report, color=False)
    output.encode("utf-8")  # raised UnicodeEncodeError
    assert "a?b" in output


def test_a_user_template_that_is_not_utf8_is_a_config_error_naming_it(tmp_path: Path) -> None:
    template = tmp_path / "report.md.j2"
    template.write_bytes(b"# Report\n\xff\xfe{{ report.title }}\n")
    with pytest.raises(ConfigError) as caught:
        render_report_md(make_report(), tmp_path)
    assert str(caught.value) == (
        f"The template {template} is not UTF-8 text (byte 9); save it with UTF-8 encoding."
    )


def test_an_included_template_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    (tmp_path / "report.md.j2").write_text("{% include 'part.j2' %}\n", encoding="utf-8")
    (tmp_path / "part.j2").write_bytes(b"caf\xe9\n")
    with pytest.raises(ConfigError, match=r"part\.j2 is not UTF-8 text \(byte 3\)"):
        render_report_md(make_report(), tmp_path)


def test_run_with_a_template_that_is_not_utf8_stops_and_writes_nothing(project: Path) -> None:
    templates = project / "templates"
    templates.mkdir()
    (templates / "model-card.md.j2").write_bytes(b"\x80 card\n")
    config = project / "mlops.yaml"
    text = config.read_text().replace("  digits: 4\n", "  digits: 4\n  template_dir: templates\n")
    config.write_text(text)
    before = tree_state(project)
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 2, result.stderr
    assert result.stderr == (
        f"mlops-ci: error: The template {templates / 'model-card.md.j2'} is not UTF-8 text "
        "(byte 0); save it with UTF-8 encoding.\n"
    )
    assert tree_state(project) == before and not (project / ".mlops").exists()
