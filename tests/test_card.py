"""The model card, read back by huggingface_hub (front matter) and cmark-gfm (sections)."""

from __future__ import annotations

import re
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from huggingface_hub import ModelCard

from factories import make_card, make_first_run_report, make_metric, make_report
from mlops_ci.card import card_metadata, render_card, render_card_body, split_front_matter
from mlops_ci.errors import InputError
from mlops_ci.report import ModelInfo, Report

MITCHELL_SECTIONS = [
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Evaluation data",
    "Training data",
    "Quantitative analyses",
    "Ethical considerations",
    "Caveats and recommendations",
]

HUMAN_KEYS = [
    "description", "intended_use", "out_of_scope_use", "factors", "training_data",
    "evaluation_data", "limitations", "ethical_considerations", "caveats",
]


def numeric_head_metrics(report: Report) -> dict[str, float]:
    return {
        m.name: m.head for m in report.metrics
        if isinstance(m.head, int | float) and not isinstance(m.head, bool)
    }


def test_front_matter_reads_as_a_hugging_face_model_card() -> None:
    report = make_report()
    card = ModelCard(render_card(report))
    assert card.data.license == "apache-2.0"
    assert card.data.library_name == "sklearn"
    assert card.data.tags == ["tabular", "churn", "mlops-ci"]
    assert card.data.datasets == ["acme/churn-2023"]
    assert card.data.language == ["en"]
    assert card.data.metrics == ["roc_auc", "accuracy", "f1", "log_loss", "n_test"]
    assert card.data.model_name == "churn-classifier"
    results = card.data.eval_results
    assert {r.metric_type: r.metric_value for r in results} == numeric_head_metrics(report)
    assert {(r.task_type, r.dataset_type, r.dataset_name) for r in results} == {
        ("tabular-classification", "acme/churn-2023", "acme/churn-2023")
    }


def test_metric_values_of_every_magnitude_read_back_equal() -> None:
    values = [2.5e-06, 1e-300, 1e16, -3, 0, 0.1 + 0.2, 123456789012345678]
    report = make_report(metrics=[make_metric(f"m{i}", 1, v) for i, v in enumerate(values)])
    results = ModelCard(render_card(report)).data.eval_results
    assert [r.metric_value for r in results] == values
    assert [type(r.metric_value) for r in results] == [type(v) for v in values]


def test_a_card_file_loads_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "model-card.md"
    path.write_text(render_card(make_report()), encoding="utf-8")
    card = ModelCard.load(path)
    assert card.data.license == "apache-2.0"
    assert card.text.lstrip().startswith("# Model card for churn-classifier")


@pytest.mark.parametrize(
    ("task", "hf_type"),
    [
        ("binary-classification", "tabular-classification"),
        ("multiclass-classification", "tabular-classification"),
        ("regression", "tabular-regression"),
        ("time-series-forecasting", "time-series-forecasting"),
    ],
)
def test_task_types_map_to_hugging_face_ones(task: str, hf_type: str) -> None:
    report = make_report(model=ModelInfo("m", "model.pkl", task))
    card = ModelCard(render_card(report))
    assert {r.task_type for r in card.data.eval_results} == {hf_type}


def test_without_datasets_the_evaluation_data_is_named_after_the_model() -> None:
    report = make_report(card=make_card(datasets=[]))
    card = ModelCard(render_card(report))
    assert card.data.datasets is None
    assert {r.dataset_name for r in card.data.eval_results} == {"churn-classifier evaluation data"}


def test_only_numeric_head_metrics_are_results() -> None:
    report = make_report(metrics=[
        make_metric("roc_auc", 0.9, 0.91, primary=True),
        make_metric("converged", True, False),
        make_metric("gone", 0.5, None),
        make_metric("label", "a", "b"),
    ])
    card = ModelCard(render_card(report))
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [("roc_auc", 0.91)]


def test_without_numeric_metrics_there_is_no_model_index() -> None:
    meta = card_metadata(make_report(metrics=[]))
    assert "model-index" not in meta
    assert "metrics" not in meta
    assert ModelCard(render_card(make_report(metrics=[]))).data.eval_results is None


def test_every_mitchell_section_is_a_heading() -> None:
    html = cmarkgfm.github_flavored_markdown_to_html(render_card(make_report()))
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings == MITCHELL_SECTIONS
    for sub in ("Training hyper-parameters", "Primary intended uses", "Out-of-scope uses",
                "Acceptance criteria", "Limitations", "Caveats"):
        assert f"<h3>{sub}</h3>" in html


@pytest.mark.parametrize("key", HUMAN_KEYS)
def test_missing_human_text_says_what_to_add(key: str) -> None:
    report = make_report(card=make_card(**{key: "  "}))
    text = render_card(report)
    assert f"_Not provided: add `card.{key}` to mlops.yaml._" in text
    assert text.count("_Not provided:") == 1


def test_missing_owners_say_what_to_add() -> None:
    text = render_card(make_report(card=make_card(owners=[])))
    assert "**Owners:** _Not provided: add `card.owners` to mlops.yaml._" in text


def test_human_text_is_markdown_but_not_html() -> None:
    card = make_card(intended_use=(
        "Use it for:\n\n- **ranking** accounts\n- <b>nothing</b> else, `x < y` & ``a`<b``\n\n"
        "```python\nif a<b: pass\n```"
    ))
    html = cmarkgfm.markdown_to_html_with_extensions(
        render_card(make_report(card=card)), options=Options.CMARK_OPT_UNSAFE,
        extensions=["table"],
    )
    assert "<li><strong>ranking</strong> accounts</li>" in html
    # a tag written by the author arrives as text; code that cannot start a tag stays as written
    assert ("<li>&lt;b&gt;nothing&lt;/b&gt; else, <code>x &lt; y</code> &amp; "
            "<code>a`&amp;lt;b</code></li>") in html
    assert '<pre><code class="language-python">if a&amp;lt;b: pass\n</code></pre>' in html
    assert "<b>" not in html


@pytest.mark.parametrize(
    "text",
    [
        "---\nlicense: mit\nlibrary_name: evil\n---",
        "license: mit",
        "...\n---\n- a\n- b",
    ],
)
def test_yaml_like_human_text_cannot_break_the_front_matter(text: str) -> None:
    report = make_report(card=make_card(description=text, caveats=text))
    card = ModelCard(render_card(report))
    assert card.data.license == "apache-2.0"
    assert card.data.library_name == "sklearn"
    assert card.data.to_dict().keys() == card_metadata(report).keys()


def test_yaml_like_metadata_values_stay_values() -> None:
    tags = ["---", "a\n---\nb", "key: value", "# not a comment", "- item", "'quoted", "[x]",
            "{y}", "&anchor", "*alias", "!tag", "%dir", "@at", "`tick", "a #b", "trail:"]
    report = make_report(card=make_card(tags=tags, license="mit\n---\nlicense: evil"))
    card = ModelCard(render_card(report))
    assert card.data.tags == [" ".join(t.split()) for t in tags] + ["mlops-ci"]
    assert card.data.license == "mit --- license: evil"
    assert card.text.lstrip().startswith("# Model card for churn-classifier")


@pytest.mark.parametrize(
    "word", ["yes", "No", "on", "OFF", "y", "null", "~", "true", "1.0", "1_000", "0o17", "0x1F",
             "2024-01-01", ".inf", "-.NaN", "12:30", "=", "<<"],
)
def test_strings_that_yaml_1_1_would_read_as_other_types_stay_strings(word: str) -> None:
    # the Hub reads cards with PyYAML, a YAML 1.1 reader: `yes` is true there, `12:30` is 750
    report = make_report(card=make_card(tags=[word], language=[word], datasets=[word]),
                         model=ModelInfo(word, "model.pkl", "regression", library=word))
    card = ModelCard(render_card(report))
    assert card.data.tags == [word, "mlops-ci"]
    assert card.data.language == [word]
    assert card.data.library_name == word
    assert card.data.model_name == word
    assert {r.dataset_type for r in card.data.eval_results} == {word}


def test_split_front_matter_returns_the_metadata_and_the_body() -> None:
    report = make_report()
    meta, body = split_front_matter(render_card(report))
    assert meta == card_metadata(report)
    assert body == render_card_body(report).lstrip("\n")
    assert split_front_matter("# Just text\n") == ({}, "# Just text\n")
    assert split_front_matter("---\nunterminated\n") == ({}, "---\nunterminated\n")


def test_split_front_matter_rejects_what_is_not_a_mapping() -> None:
    with pytest.raises(InputError, match="not a YAML mapping"):
        split_front_matter("---\n- a list\n---\nbody\n")
    with pytest.raises(InputError, match="not valid YAML"):
        split_front_matter("---\nkey: [unclosed\n---\nbody\n")


def test_card_details_name_the_version_and_hyper_parameters() -> None:
    text = render_card(make_report())
    assert "- **Version:** `9f8e7d6`" in text
    assert "- **Date:** 2024-05-01" in text
    assert "- **Owners:** @acme/ml-team" in text
    assert "- **Model file:** `models/model.pkl` (md5 `b1c2d3e4f5a60718293a4b5c6d7e8f90`)" in text
    # params as written, not rounded like metrics; one params file, so no "file:" prefix
    assert "| `prepare.test_size` | 0.2 |" in text
    assert "| `train.n_estimators` | 200 |" in text


def test_params_from_several_files_keep_their_file() -> None:
    report = make_report(params_head={"params.yaml:lr": 0.1, "extra.yaml:lr": 0.2})
    text = render_card(report)
    assert "| `params.yaml:lr` | 0.1 |" in text
    assert "| `extra.yaml:lr` | 0.2 |" in text


def test_quantitative_analyses_compare_with_base_and_show_gate_verdicts() -> None:
    text = render_card(make_report())
    assert "Measured at `9f8e7d6`, compared with `1a2b3c4` (main)." in text
    assert "| roc\\_auc | 0.9123 | 0.9287 | +0.0164 | ✅ pass |" in text
    assert "| f1 | 0.7702 | 0.7702 | 0.0000 | — |" in text

    first = render_card(make_first_run_report())
    assert "Measured at `9f8e7d6`." in first
    assert "| accuracy | — | 0.8795 | — | 🆕 new |" in first


def test_metrics_section_names_the_primary_metric_and_the_gates() -> None:
    text = render_card(make_report())
    assert "- **roc\\_auc** (primary metric): higher is better; from `metrics.json`." in text
    assert "- log\\_loss: lower is better; from `metrics.json`." in text
    assert "| `accuracy` max\\_drop 0.01 | error |" in text
    no_primary = render_card(make_report(primary_metric=None, metrics=[make_metric()]))
    assert "_No primary metric is set: add `metrics.primary` to mlops.yaml._" in no_primary


def test_training_data_lists_the_data_versions() -> None:
    text = render_card(make_report())
    section = text[text.index("## Training data"):text.index("## Quantitative analyses")]
    assert "| `data/raw/churn.csv` | `3f2a9c0d` | 1.2 MB |" in section
    assert "| `data/prepared` | `8c1d2e3f` | 987.7 kB in 2 files |" in section


def test_values_no_float_holds_are_not_results_and_the_largest_floats_are() -> None:
    # a Hub reader parses 10**400 as infinity; is_number raised OverflowError on it
    report = make_report(metrics=[
        make_metric("huge", None, 10**400),
        make_metric("nan", None, float("nan")),
        make_metric("largest", 1, 1.7976931348623157e308),
        make_metric("count", 1, 10**300),
    ])
    card = ModelCard(render_card(report))
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [
        ("largest", 1.7976931348623157e308), ("count", 10**300)
    ]
