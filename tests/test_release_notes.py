"""The release notes: verdict, metric diff, the chart over releases, the card folded, the limit."""

from __future__ import annotations

from gfm_inert import headings_of, hostile_report, inert_problems
from mermaid_check import mermaid_blocks, mermaid_errors

from factories import make_card, make_report
from mlops_ci.release.notes import BODY_LIMIT, History, Point, history_chart, render_notes
from mlops_ci.render_untrusted import render_untrusted_card_body

HISTORY = History("roc_auc", (Point("v1.0.0", 0.9012), Point("v1.1.0", 0.9123),
                              Point("v1.2.0-rc.1", 0.9101), Point("v1.2.0", 0.9287)))


def notes(report=None, **overrides):  # type: ignore[no-untyped-def]
    report = report or make_report()
    kwargs = {
        "artifact": "churn", "version": "v1.2.0", "tag": "v1.2.0", "previous": "v1.1.0",
        "history": HISTORY, "card_body": render_untrusted_card_body(report), "signed": True,
    }
    kwargs.update(overrides)
    return render_notes(report, **kwargs)


def test_notes_say_the_verdict_the_diff_against_the_previous_release_fold_the_card() -> None:
    text = notes()
    assert text.startswith("## churn v1.2.0\n")
    assert "✅ **Passed**" in text
    assert "Compared with the previous release `v1.1.0`" in text
    assert "| Metric | v1.1.0 | This release | Δ | Δ % |" in text
    assert "| **roc\\_auc** | 0.9123 | 0.9287 | +0.0164 | +1.80% |" in text
    assert "<details>\n<summary>Model card</summary>" in text and text.count("</details>") == 1
    assert "model.sig" in text


def test_the_chart_has_one_point_per_release_in_version_order_labelled_with_versions() -> None:
    (block,) = mermaid_blocks(notes())
    assert mermaid_errors([block]) == []
    assert 'x-axis ["v1.0.0", "v1.1.0", "v1.2.0-rc.1", "v1.2.0"]' in block
    assert "line [0.9012, 0.9123, 0.9101, 0.9287]" in block
    assert 'title "roc_auc by release"' in block
    # a colour that shows on white, not mermaid's default pale lavender line
    assert '"plotColorPalette": "#1f77b4"' in block
    assert "over the last 4 releases" in notes()


def test_the_chart_with_one_release_or_no_primary_metric_is_a_sentence() -> None:
    first = notes(history=History("roc_auc", (Point("v1.0.0", 0.9),)), previous=None)
    assert mermaid_blocks(first) == [] and "starts here" in first
    none = notes(history=None)
    assert mermaid_blocks(none) == [] and "metrics.primary" in none


def test_equal_values_still_give_the_y_axis_a_range() -> None:
    chart = history_chart(History("acc", (Point("v1.0.0", 0.5), Point("v1.1.0", 0.5))))
    assert mermaid_errors(mermaid_blocks(chart)) == []
    assert "0.495 --> 0.505" in chart


def test_hostile_names_and_card_are_inert_and_the_chart_parses() -> None:
    report = hostile_report()
    hostile = History("</details> \"x\" %%{init}%% `y`", (Point("v1.0.0", 1.0),
                                                           Point('v1"]; x', 2.0)))
    text = notes(report, history=hostile)
    benign = headings_of(notes())
    assert inert_problems(text, headings=benign) == []
    blocks = mermaid_blocks(text)
    assert len(blocks) == 1 and mermaid_errors(blocks) == []
    # only our own palette directive, first; the hostile names bring none of theirs
    assert blocks[0].count("%%{init") == 1 and blocks[0].startswith("%%{init: {\"themeVariables\"")
    assert '"]; x' not in blocks[0]


def test_the_body_stays_within_githubs_limit_and_says_it_was_shortened() -> None:
    report = make_report(card=make_card(description="A long story. " * 9_000))
    text = notes(report)
    assert len(text) <= BODY_LIMIT
    assert "shortened" in text and "model-card.md" in text
    assert "| Metric |" in text and "```mermaid" in text  # the card goes first

    small = notes(report, limit=2_000)
    assert len(small) <= 2_000 and "shortened" in small
