"""Plots rendered for GitHub: Mermaid charts that mermaid parses, tables, bounded, inert."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from gfm_inert import HOSTILE_LINE, headings_of, hostile_report, inert_problems, to_html
from mermaid_check import mermaid_blocks, mermaid_errors

from factories import make_report
from mlops_ci.card import render_card
from mlops_ci.errors import InputError
from mlops_ci.plots import MAX_POINTS, MAX_SERIES, even_grid, resample
from mlops_ci.render import render_report_md
from mlops_ci.render_plots import (
    GRID_POINTS,
    MAX_MARKDOWN,
    mermaid_text,
    render_plot,
    render_plots_md,
    root_from,
)
from mlops_ci.render_terminal import render_table
from mlops_ci.render_untrusted import render_untrusted_report_md
from mlops_ci.report import ConfusionMatrix, PlotDiff, PlotSeries, Report
from mlops_ci.schemas import validate_report


def roc(name: str = "tpr", points: int = 11, power: float = 0.5) -> PlotSeries:
    xs = even_grid(0.0, 1.0, points)
    return PlotSeries(name, xs, [x**power for x in xs], points)


def plots_report(**overrides: object) -> Report:
    plots = [
        PlotDiff(id="eval/roc.json", kind="series", title="ROC", x_label="fpr", y_label="tpr",
                 base=[roc(points=11, power=0.7)], head=[roc(points=3, power=0.5)]),
        PlotDiff(id="eval/loss.csv", kind="series", title="eval/loss.csv", x_label="epoch",
                 y_label="loss", base=[PlotSeries("loss", [0, 1, 2], [1, 0.5, 0.25], 3)],
                 head=[PlotSeries("loss", [0, 1, 2], [1, 0.4, 0.2], 3)]),
        PlotDiff(id="Confusion", kind="confusion", title="Confusion", x_label="actual",
                 y_label="predicted",
                 base_matrix=ConfusionMatrix(["cat", "dog"], [[12, 3], [0, 10]]),
                 head_matrix=ConfusionMatrix(["cat", "dog"], [[10, 5], [0, 10]])),
        PlotDiff(id="eval/importance.png", kind="image", title="eval/importance.png",
                 path="eval/importance.png", base_md5="a" * 32, head_md5="b" * 32),
    ]
    return make_report(plots=plots, **overrides)


def test_a_report_with_plots_round_trips_and_validates() -> None:
    report = plots_report()
    data = json.loads(report.to_json())
    validate_report(data, source="report.json")
    assert Report.from_dict(data) == report
    old = {k: v for k, v in data.items() if k not in ("plots", "plots_omitted")}
    validate_report(old, source="report.json")  # a report from before plots still loads
    assert Report.from_dict(old).plots == []


def test_a_report_beyond_the_plot_bounds_is_refused() -> None:
    data = json.loads(plots_report().to_json())
    data["plots"][0]["head"][0]["x"] = [0.5] * (MAX_POINTS + 1)
    with pytest.raises(InputError, match="report.json"):
        validate_report(data, source="report.json")
    data = json.loads(plots_report().to_json())
    data["plots"] = data["plots"] * 6
    with pytest.raises(InputError):
        validate_report(data, source="report.json")


def test_resample_interpolates_linearly_and_holds_the_ends() -> None:
    assert resample([0, 1, 2], [0, 10, 30], [0, 0.5, 1.5, 2]) == [0, 5, 20, 30]
    assert resample([1, 2], [5, 7], [0, 3]) == [5, 7]  # beyond the ends: the end values
    # a ROC curve's vertical step at fpr 0: the line starts from the top of the step
    assert resample([0, 0, 1], [0, 0.5, 1], [0, 0.5]) == [0.5, 0.75]
    assert resample([2, 0, 1], [20, 0, 10], [0.5, 1.5]) == [5, 15]  # sorted by x first


def test_series_are_drawn_by_value_of_x_on_one_even_grid() -> None:
    """Base with 11 points and head with 3 cover 0..1: both are resampled onto one grid."""
    markdown = render_report_md(plots_report())
    blocks = mermaid_blocks(markdown)
    assert len(blocks) == 2
    assert mermaid_errors(blocks) == []
    chart = blocks[0]
    assert 'x-axis "fpr" 0 --> 1' in chart  # numeric: not one category per point
    lines = re.findall(r"^\s*line \[(.*)\]$", chart, re.MULTILINE)
    assert [len(line.split(", ")) for line in lines] == [GRID_POINTS, GRID_POINTS]
    head = [float(v) for v in lines[1].split(", ")]
    g = 25 / 49  # the 26th of 50 values from 0 to 1: between the points at 0.5 and 1
    assert abs(head[25] - (0.5**0.5 + (1 - 0.5**0.5) * (g - 0.5) / 0.5)) < 1e-3
    assert '"plotColorPalette": "#ff7f0e, #1f77b4"' in chart
    assert "🟧 base (main) · 🟦 head" in markdown
    assert "Resampled: each line is linearly interpolated onto 50 evenly spaced values" in markdown
    # the same even x at both revisions: drawn as they are, nothing resampled
    assert 'x-axis "epoch" 0 --> 2' in blocks[1] and "line [1, 0.5, 0.25]" in blocks[1]
    assert "3 points per line" in markdown


def test_the_confusion_matrix_is_a_table_of_base_to_head() -> None:
    html = to_html(render_report_md(plots_report()))
    assert "<td align=\"right\"><strong>12 → 10</strong></td>" in html
    assert "<td align=\"right\"><strong>3 → 5</strong></td>" in html
    assert "<td align=\"right\">10</td>" in html  # unchanged cells show once
    assert "2 of 4 cells changed" in html


def test_images_are_named_changed_and_embedded_only_in_the_card_file() -> None:
    report = plots_report()
    markdown = render_report_md(report)
    assert "Image, **changed** (md5 aaaaaaaa → bbbbbbbb)." in markdown
    assert "![" not in markdown  # a comment cannot show the repository's file
    card = render_card(report, images_from="..")
    assert "![eval/importance.png](../eval/importance.png)" in card
    assert "https://" not in card.split("---", 2)[2]  # no image host
    same = replace(report.plots[3], base_md5="b" * 32)
    assert "Image, **unchanged**" in render_plot(same, report)


def test_an_image_path_that_could_leave_the_repository_is_not_embedded() -> None:
    for path in ("../secret.png", "/etc/x.png", "https:x.png", "a/../../b.png", "a\\b.png"):
        plot = PlotDiff(id=path, kind="image", title=path, path=path, head_md5="b" * 32)
        assert "![" not in render_plot(plot, make_report(), images_from=".."), path
    spaced = PlotDiff(id="a (1).png", kind="image", title="x", path="a (1).png", head_md5="b")
    assert "](../a%20%281%29.png)" in render_plot(spaced, make_report(), images_from="..")


def test_root_from_names_the_root_from_the_card_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".mlops").mkdir()
    assert root_from(tmp_path / ".mlops", tmp_path) == ".."
    assert root_from(tmp_path, tmp_path) == "."


def test_the_terminal_shows_one_line_per_plot() -> None:
    table = render_table(plots_report(), color=False)
    plot_lines = table.split("Plots:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert plot_lines == [
        "  eval/roc.json: 1 line, head 3 points, base 11",
        "  eval/loss.csv: 1 line, head 3 points, base 3",
        "  Confusion: confusion matrix of 2 classes, changed",
        "  eval/importance.png: image, changed",
    ]
    assert "Plots:" not in render_table(make_report(), color=False)


def test_many_long_plots_stay_within_the_bound_and_every_chart_parses() -> None:
    wide = [roc(f"y{i}", points=MAX_POINTS, power=0.2 + i / 10) for i in range(MAX_SERIES)]
    big = PlotDiff(id="p", kind="series", title="p", x_label="x", y_label="y", base=wide,
                   head=wide[::-1])
    report = make_report(plots=[replace(big, id=f"p{i}", title=f"p{i}") for i in range(20)],
                         plots_omitted=5)
    markdown = render_plots_md(report)
    assert len(markdown) <= MAX_MARKDOWN + 200
    assert re.search(r"_\d+ more plots are left out to keep this short", markdown)
    blocks = mermaid_blocks(markdown)
    assert blocks and mermaid_errors(blocks) == []
    assert all(len(re.findall(r"^\s*line ", b, re.MULTILINE)) == 2 * MAX_SERIES for b in blocks)


def test_the_checker_catches_a_broken_chart() -> None:
    """mermaid's parser fails on what GitHub would show as an error instead of a chart."""
    good = mermaid_blocks(render_plots_md(plots_report()))[0]
    broken = [
        good.replace('x-axis "fpr" 0 --> 1', 'x-axis "fpr" 0 -->'),
        good.replace("line [0", "line [1e-5, 0", 1),  # an exponent is not a Mermaid number
        good.replace('title "ROC"', 'title "R"OC"'),
    ]
    errors = mermaid_errors([good, *broken])
    assert [e.split(":")[0] for e in errors] == ["error 1", "error 2", "error 3"]


def test_chart_text_keeps_nothing_that_mermaid_or_markdown_reads() -> None:
    text = mermaid_text('a"b %%{init}%% `x` <b> [1] ;#&\n\u202e' + "z" * 100)
    assert not set(text) & set('"%`<>[]{};#&\n\u202e')
    assert len(text) <= 60


def test_a_hostile_report_s_plots_are_inert_and_still_parse() -> None:
    hostile = [
        replace(p, id=HOSTILE_LINE, title=HOSTILE_LINE, x_label=HOSTILE_LINE,
                y_label=HOSTILE_LINE, note=HOSTILE_LINE,
                base=[replace(s, name=HOSTILE_LINE) for s in p.base],
                head=[replace(s, name=HOSTILE_LINE + "2") for s in p.head],
                base_matrix=ConfusionMatrix([HOSTILE_LINE, "x"], [[1, 2], [3, 4]])
                if p.kind == "confusion" else None)
        for p in plots_report().plots
    ]
    report = replace(hostile_report(), plots=hostile)
    benign = headings_of(render_untrusted_report_md(plots_report()))
    markdown = render_untrusted_report_md(report)
    assert inert_problems(markdown, headings=benign) == []
    assert "<!--" not in markdown
    assert mermaid_errors(mermaid_blocks(markdown)) == []
    trusted = render_report_md(report)  # the trusted renderer writes plots inert as well
    assert inert_problems(trusted.split("### Plots", 1)[1].split("###", 1)[0], headings=0) == []


def test_a_scatter_plot_is_described_not_drawn_as_a_line() -> None:
    # residuals against predictions: joining the points in file order draws a zigzag
    residuals = PlotSeries(name="residual", x=[3.0, 1.0, 2.0], y=[0.5, -1.0, 2.0], points=3)
    plot = PlotDiff(id="eval/plots/residuals.json", kind="series", template="scatter",
                    title="eval/plots/residuals.json", x_label="predicted", y_label="residual",
                    head=[residuals], base=[replace(residuals, points=2)])
    markdown = render_report_md(make_report(plots=[plot]))
    section = markdown.split("**eval/plots/residuals.json**", 1)[1].split("**", 1)[0]
    assert "```mermaid" not in section
    assert "A scatter plot of residual against predicted: 3 points at head, 2 at base." in section
    linear = replace(plot, template="linear")
    assert "```mermaid" in render_report_md(make_report(plots=[linear])).split(
        "**eval/plots/residuals.json**", 1)[1]
