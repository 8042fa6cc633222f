"""`model.task`: short forms and every Hugging Face pipeline tag; `pipeline_tag` only when real."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from factories import make_report
from mlops_ci.card import card_metadata, render_card
from mlops_ci.config import load_config
from mlops_ci.errors import ConfigError
from mlops_ci.report import ModelInfo
from mlops_ci.schemas import CONFIG_SCHEMA, load_schema
from mlops_ci.tasks import PIPELINE_TAGS, SHORT_TASKS, TASKS, pipeline_tag


def test_the_schema_enumerates_the_one_list() -> None:
    task = load_schema(CONFIG_SCHEMA)["properties"]["model"]["properties"]["task"]
    assert task["enum"] == list(TASKS)
    assert len(set(TASKS)) == len(TASKS)


@pytest.mark.parametrize("task", ["text-classification", "tabular-regression", "image-to-text"])
def test_a_hugging_face_pipeline_tag_is_a_task(tmp_path: Path, task: str) -> None:
    (tmp_path / "mlops.yaml").write_text(f"model: {{name: m, path: m.pkl, task: {task}}}\n")
    assert load_config(tmp_path / "mlops.yaml").model.task == task
    card = ModelCard(render_card(make_report(model=ModelInfo("m", "m.pkl", task))))
    assert card.data.pipeline_tag == task
    assert {r.task_type for r in card.data.eval_results} == {task}


def test_a_name_on_neither_list_is_refused_with_the_closest(tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text(
        "model: {name: m, path: m.pkl, task: text-clasification}\n"
    )
    with pytest.raises(ConfigError, match="did you mean 'text-classification'") as info:
        load_config(tmp_path / "mlops.yaml")
    assert "token-classification" not in str(info.value)  # no list of 60 names


@pytest.mark.parametrize(
    ("task", "tag"),
    [
        ("binary-classification", "tabular-classification"),
        ("regression", "tabular-regression"),
        ("text-generation", "text-generation"),
        ("other", None),  # on the Hub's list, but says nothing
        ("made-up-by-a-newer-version", None),
    ],
)
def test_pipeline_tag_is_written_only_when_it_is_a_real_tag(task: str, tag: str | None) -> None:
    assert pipeline_tag(task) == tag
    meta = card_metadata(make_report(model=ModelInfo("m", "m.pkl", task)))
    assert meta.get("pipeline_tag") == tag


def test_every_short_form_stands_for_a_pipeline_tag() -> None:
    assert set(SHORT_TASKS.values()) <= set(PIPELINE_TAGS)
