"""The evaluation in every rendering: intervals beside values, the gates' evidence, the
confusion matrix, the chart across releases; inert when the report is someone else's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from gfm_inert import PAYLOADS, headings_of, inert_problems, to_html
from mermaid_check import mermaid_blocks, mermaid_errors

from factories import make_gate, make_report
from mlops_ci.github.comments import GITHUB_BODY_LIMIT, comment_body, text_length
from mlops_ci.release.notes import render_notes
from mlops_ci.render import render_report_md
from mlops_ci.render_evaluation import (
    confusion_plot,
    evaluation_md,
    evidence_text,
    history_chart,
    slice_text,
)
from mlops_ci.render_terminal import render_table
from mlops_ci.render_untrusted import render_untrusted_card_body, render_untrusted_report_md
from mlops_ci.report import (
    ConfusionMatrix,
    EvaluationInfo,
    HistoryPoint,
    PlotDiff,
    Report,
)
from mlops_ci.schemas import validate_report

# what the brief names, beside the shared payloads
NASTY = ["`x` `` y", "<script>alert(1)</script>", "@octocat", "[a](javascript:alert(1))",
         "::error::forged", "%%{init: {}}%%", '"]; x', *PAYLOADS]
CONFUSION = {"labels": ["no", "yes"], "head": [[80, 7], [9, 47]], "base": [[79, 8], [11, 45]]}


def evaluation(**overrides: Any) -> EvaluationInfo:
    fields: dict[str, Any] = {
        "predictions": "eval/predictions.parquet", "task": "binary", "rows": 143,
        "base_rows": 143, "confidence": 0.95, "replicates": 1000, "seed": 0,
        "confusion": CONFUSION,
    }
    fields.update(overrides)
    return EvaluationInfo(**fields)


def evaluated(**overrides: Any) -> Report:
    """make_report() as `run` writes it with a predictions file: intervals, evidence, history."""
    report = make_report()
    metrics = [
        replace(m, head_interval=[round(m.head - 0.011, 4), round(m.head + 0.0107, 4)],
                base_interval=[round(m.base - 0.012, 4), round(m.base + 0.01, 4)])
        if m.name in ("roc_auc", "accuracy") else m
        for m in report.metrics
    ]
    gates = [
        replace(make_gate("accuracy", "max_drop", 0.0), test="mcnemar", alpha=0.05,
                p_value=0.41, difference=[-0.012, 0.0081], significance="within noise"),
        replace(make_gate("recall", "min", 0.8, base=0.81, head=0.78, verdict="fail"),
                slice={"sex": "female"}),
        replace(make_gate("roc_auc", "max_drop", 0.0, verdict="fail", gate_index=2),
                test="paired_bootstrap", alpha=0.05, p_value=0.0004,
                difference=[-0.041, -0.012], significance="significant"),
        replace(make_gate("f1", "max_drop", 0.0, gate_index=3), test="mcnemar", alpha=0.05,
                evidence_note="the base's predictions could not be read"),
    ]
    history = [
        HistoryPoint("v1.0.0", 0.8923), HistoryPoint("v1.1.0", 0.9073),
        HistoryPoint("base", 0.9123, 0.9003, 0.9223, "base"),
        HistoryPoint("head", 0.9287, 0.9177, 0.9394, "head"),
    ]
    fields: dict[str, Any] = {"metrics": metrics, "gates": gates, "evaluation": evaluation(),
                              "history": history}
    fields.update(overrides)
    return replace(report, **fields)


def test_the_evaluated_report_is_one_the_schema_accepts() -> None:
    validate_report(evaluated().to_dict(), source="test")
    validate_report(hostile().to_dict(), source="test")


# --- intervals -----------------------------------------------------------------------------


def shown(markdown: str) -> str:
    """*markdown* as read: without the word joiners that keep an interval on one line."""
    return markdown.replace("\u2060", "")


def test_intervals_stand_beside_the_values_and_their_level_is_said_once() -> None:
    markdown = render_report_md(evaluated())
    assert "0.9287 (0.9177\u2060–\u20600.9394)" in markdown  # a cell breaks before, not inside
    markdown = shown(markdown)
    assert ("| **roc\\_auc** (primary) | 0.9123 (0.9003–0.9223) | 0.9287 (0.9177–0.9394) "
            "| +0.0164 |") in markdown
    assert "| f1 | 0.7702 | 0.7702 |" in markdown  # no interval: the value alone
    level = ("In parentheses: 95 % intervals from 143 rows, 1,000 bootstrap replicates (seed 0); "
             "ROC AUC's from DeLong's variance.")
    comment, card = markdown.split("<details><summary>Model card</summary>", 1)
    assert comment.count(level) == 1 and card.count(level) == 1  # the card is its own document
    without_auc = evaluated()
    for metric in without_auc.metrics:
        if metric.name == "roc_auc":
            metric.head_interval = None
    plain = "In parentheses: 95 % intervals from 143 rows, 1,000 bootstrap replicates (seed 0)."
    assert shown(render_report_md(without_auc)).count(plain) == 2


def test_the_card_shows_the_intervals_and_their_level() -> None:
    from mlops_ci.card import render_card

    card = shown(render_card(evaluated()))
    assert "| roc\\_auc | 0.9123 (0.9003–0.9223) | 0.9287 (0.9177–0.9394) | +0.0164 |" in card
    assert card.count("95 % intervals from 143 rows") == 1


def test_intervals_follow_the_reports_digits_and_the_base_rows_when_they_differ() -> None:
    report = evaluated(digits=2, evaluation=evaluation(rows=143, base_rows=140))
    markdown = shown(render_report_md(report))
    assert "| 0.91 (0.90–0.92) | 0.93 (0.92–0.94) |" in markdown
    assert "from 143 rows (base 140)" in markdown


def test_a_base_whose_predictions_were_not_compared_says_why() -> None:
    report = evaluated(evaluation=evaluation(base_rows=None, note="eval/p.parquet is not in "
                                             "the DVC cache at main", confusion=None))
    markdown = render_report_md(report)
    assert "> **Base predictions not compared:** eval/p.parquet is not in the DVC cache" \
        in markdown


def test_without_evaluation_data_nothing_new_appears() -> None:
    markdown = render_report_md(make_report())
    for new in ("In parentheses", "| Evidence |", "### Evaluation", "across releases",
                "Confusion matrix"):
        assert new not in markdown
    assert "across releases" not in render_table(make_report(), color=False)


# --- gates ---------------------------------------------------------------------------------


def test_gate_rows_carry_the_significance_p_value_difference_and_test() -> None:
    markdown = render_report_md(evaluated())
    assert "| Gate | Severity | Result | Evidence | Explanation |" in markdown
    assert ("| `accuracy` max\\_drop 0.0 | error | ✅ pass | within noise: p = 0.41; head − "
            "base −0.0120 to +0.0081 (95 %); McNemar's test |") in markdown
    assert "significant: p &lt; 0.001; head − base −0.0410 to −0.0120 (95 %); paired " \
        "bootstrap" in markdown
    assert "not tested (McNemar's test, α = 0.05): the base's predictions could not be " \
        "read" in markdown
    assert "| `recall` min 0.8 on `sex = female` | error | ❌ fail | — |" in markdown


def test_evidence_and_slice_text() -> None:
    assert evidence_text(make_gate()) == ""
    gate = replace(make_gate(), test="mcnemar", alpha=0.01, p_value=0.2,
                   difference=[-0.01, 0.02], significance="within noise")
    assert evidence_text(gate, 3) == \
        "within noise: p = 0.2; head − base −0.010 to +0.020 (99 %); McNemar's test"
    assert evidence_text(replace(gate, difference=None, p_value=None)) == \
        "within noise: McNemar's test, α = 0.01"
    assert slice_text({"sex": "female", "age": 3, "member": True}) == \
        "sex = female, age = 3, member = true"
    assert slice_text(None) == ""


def test_the_terminal_shows_intervals_evidence_and_the_history() -> None:
    text = render_table(evaluated(), color=False)
    assert "roc_auc *  0.9123 (0.9003–0.9223)  0.9287 (0.9177–0.9394)" in text
    assert "In parentheses: 95 % intervals from 143 rows" in text
    assert "✗ recall min 0.8 on sex = female (error)" in text
    assert "[significant: p < 0.001; head − base −0.0410 to −0.0120 (95 %)" in text
    assert "roc_auc across releases: v1.0.0 0.8923 → v1.1.0 0.9073 → base 0.9123 → head " \
        "0.9287" in text
    no_releases = evaluated(history=evaluated().history[2:])  # base and head only
    text = render_table(no_releases, color=False)
    assert "across releases" not in text
    assert "roc_auc, base and head (no release of the model yet): base 0.9123 → head 0.9287" \
        in text


def test_the_release_notes_table_shows_intervals() -> None:
    report = evaluated()
    notes = render_notes(report, artifact="churn", version="v1.2.0", tag="v1.2.0",
                         previous="v1.1.0", history=None,
                         card_body=render_untrusted_card_body(report), signed=False)
    assert "| **roc\\_auc** | 0.9123 (0.9003–0.9223) | 0.9287 (0.9177–0.9394) |" in shown(notes)
    assert "95 % intervals from 143 rows" in notes


# --- the confusion matrix ------------------------------------------------------------------


def test_the_confusion_matrix_is_a_table_of_base_and_head() -> None:
    markdown = render_report_md(evaluated())
    assert "### Evaluation" in markdown and "**Confusion matrix**" in markdown
    assert "| actual ↓ · predicted → | no | yes |" in markdown
    assert "| **no** | **79 → 80** | **8 → 7** |" in markdown
    assert "4 of 4 cells changed" in markdown
    head_only = render_report_md(evaluated(evaluation=evaluation(
        confusion={**CONFUSION, "base": None}, note="no base predictions")))
    assert "| **no** | 80 | 7 |" in head_only and "head only" in head_only


def test_a_dvc_plot_of_the_same_matrix_is_shown_instead_of_a_second_table() -> None:
    same = PlotDiff(id="eval/plots/confusion.json", kind="confusion", title="Confusion",
                    head_matrix=ConfusionMatrix(["no", "yes"], [[80, 7], [9, 47]]))
    report = evaluated(plots=[same])
    assert confusion_plot(report) is None
    markdown = render_report_md(report)
    assert markdown.count("| actual ↓ · predicted → |") == 1 and "**Confusion matrix**" \
        not in markdown
    other = replace(same, head_matrix=ConfusionMatrix(["no", "yes"], [[81, 6], [9, 47]]))
    assert confusion_plot(evaluated(plots=[other])) is not None


def test_many_classes_are_capped_and_a_malformed_matrix_is_left_out() -> None:
    labels = [f"class {i}" for i in range(40)]
    big = {"labels": labels, "head": [[i + j for j in range(40)] for i in range(40)],
           "base": None}
    plot = confusion_plot(evaluated(evaluation=evaluation(confusion=big)))
    assert plot is not None and plot.head_matrix is not None
    assert len(plot.head_matrix.labels) == 15 and plot.head_matrix.omitted == 25
    assert "only the first classes are shown" in evaluation_md(
        evaluated(evaluation=evaluation(confusion=big)))
    ragged = {"labels": ["a", "b"], "head": [[1, 2], [3]], "base": None}
    report = evaluated(evaluation=evaluation(confusion=ragged))
    assert confusion_plot(report) is None
    assert "Confusion matrix" not in render_report_md(report)


# --- the chart across releases -------------------------------------------------------------


def test_the_chart_draws_the_value_and_the_intervals_ends_and_parses() -> None:
    markdown = render_report_md(evaluated())
    (block,) = mermaid_blocks(markdown)
    assert mermaid_errors([block]) == []
    assert 'x-axis "release order" ["v1.0.0", "v1.1.0", "base", "head"]' in block
    # the interval's ends first, lighter; the value last, on top, in the palette's blue
    assert '"plotColorPalette": "#9ecae1, #9ecae1, #1f77b4"' in block
    assert "line [0.8923, 0.9073, 0.9003, 0.9177]" in block
    assert "line [0.8923, 0.9073, 0.9223, 0.9394]" in block
    assert block.rstrip().endswith("line [0.8923, 0.9073, 0.9123, 0.9287]")
    assert "an order, not a value axis" in markdown and "The base is main." in markdown


def test_no_chart_with_fewer_than_two_points_and_no_bands_without_intervals() -> None:
    one = evaluated(history=[HistoryPoint("head", 0.9287, kind="head")])
    assert mermaid_blocks(render_report_md(one)) == []
    plain = history_chart("acc", [HistoryPoint("v1", 0.5), HistoryPoint("head", 0.6)])
    assert plain.count("line [") == 1 and '"plotColorPalette": "#1f77b4"' in plain
    assert mermaid_errors(mermaid_blocks(plain)) == []


def test_a_non_finite_point_is_left_out_of_the_chart() -> None:
    chart = history_chart("acc", [HistoryPoint("v1", float("inf")), HistoryPoint("v2", 0.5),
                                  HistoryPoint("head", 0.6, float("nan"), 0.7, "head")])
    assert "inf" not in chart and "nan" not in chart
    assert mermaid_errors(mermaid_blocks(chart)) == []


# --- someone else's report -----------------------------------------------------------------


def hostile() -> Report:
    """evaluated() with every text of the new fields an attacker controls set to payloads."""
    report = evaluated()
    one = " ".join(NASTY)[:190]
    gates = [replace(g, slice={p[:200]: p[:200] for p in NASTY[:10]}, evidence_note=one,
                     metric=NASTY[i % len(NASTY)]) for i, g in enumerate(report.gates)]
    labels = NASTY[:12]
    confusion = {"labels": labels, "head": [[i * j for j in range(12)] for i in range(12)],
                 "base": [[i + j for j in range(12)] for i in range(12)]}
    history = [HistoryPoint(p, 0.5 + i / 100) for i, p in enumerate(NASTY)]
    history.append(HistoryPoint("head", 0.7, 0.6, 0.8, "head"))
    return replace(report, gates=gates, history=history, evaluation=evaluation(
        confusion=confusion, note=one, predictions="<script>x</script>.parquet"),
        primary_metric=one, metrics=[replace(m, name=one) if m.primary else m
                                     for m in report.metrics])


def test_hostile_labels_notes_and_slices_are_inert_in_the_fork_safe_rendering() -> None:
    benign = headings_of(render_untrusted_report_md(evaluated()))
    markdown = render_untrusted_report_md(hostile())
    assert inert_problems(markdown, headings=benign) == []
    assert "<!--" not in markdown
    html = to_html(markdown)
    assert "<script" not in html and "href" not in html  # no link at all, javascript: or not
    blocks = mermaid_blocks(markdown)
    assert len(blocks) == 1 and mermaid_errors(blocks) == []
    # only our palette directive, first; nothing of theirs ends a label or opens a directive
    assert blocks[0].count("%%{init") == 1 and '"]; x' not in blocks[0]


def test_the_hostile_report_in_the_terminal_starts_no_workflow_command() -> None:
    text = render_table(hostile(), color=False)
    assert not [line for line in text.splitlines() if line.lstrip().startswith("::")]
    assert "\x1b" not in text


# --- size ----------------------------------------------------------------------------------


@pytest.mark.parametrize("untrusted", [False, True])
def test_a_comment_with_thousands_of_evidence_gates_stays_within_githubs_limit(
    untrusted: bool,
) -> None:
    report = evaluated()
    gates = [replace(report.gates[i % 4], gate_index=i, slice={"region": f"region {i}"},
                     evidence_note=None if i % 4 != 3 else "no base predictions " * 20)
             for i in range(3000)]
    labels = [f"class {i}" for i in range(50)]
    confusion = {"labels": labels, "head": [[7] * 50 for _ in range(50)], "base": None}
    history = [HistoryPoint(f"v1.{i}.0", 0.8 + i / 1000) for i in range(98)]
    history += report.history[-2:]
    big = replace(report, gates=gates, history=history,
                  evaluation=evaluation(confusion=confusion))
    body = comment_body(big, key="model", untrusted=untrusted)
    assert text_length(body) <= GITHUB_BODY_LIMIT
    assert "**This comment is shortened**" in body
    blocks = mermaid_blocks(body)
    assert len(blocks) == 1 and mermaid_errors(blocks) == []  # the chart survives the cut
    assert "| actual ↓ · predicted → |" in body


def test_the_release_notes_chart_draws_this_releases_interval() -> None:
    from mlops_ci.release.notes import History, Point

    report = evaluated()
    history = History("roc_auc", (Point("v1.0.0", 0.9), Point("v1.1.0", 0.9287, 0.9177, 0.9394)))
    notes = render_notes(report, artifact="churn", version="v1.1.0", tag="v1.1.0",
                         previous="v1.0.0", history=history,
                         card_body=render_untrusted_card_body(report), signed=False)
    (block,) = mermaid_blocks(notes)
    assert mermaid_errors([block]) == []
    assert "line [0.9, 0.9177]" in block and "line [0.9, 0.9394]" in block
    assert "the light lines are the ends of its interval" in notes


def test_without_releases_the_chart_is_titled_base_and_head() -> None:
    report = evaluated(history=evaluated().history[-2:])
    markdown = render_report_md(report)
    (block,) = mermaid_blocks(markdown)
    assert 'title "roc_auc, base and head"' in block and mermaid_errors([block]) == []
    assert "no release of the model to show" in markdown and "across releases" not in markdown
