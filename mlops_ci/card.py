"""The model card: Hugging Face metadata as YAML front matter, then the Mitchell et al. sections.

The front matter is built as data and dumped by a YAML library, never through a template, so no
value can break it. The body is the ``model-card.md.j2`` template, which users may override.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops_ci.compare import is_number
from mlops_ci.errors import InputError
from mlops_ci.render import hyperparams, md, ordered_metrics, prose, render_template
from mlops_ci.report import Report
from mlops_ci.tasks import SHORT_TASKS, pipeline_tag

CARD_TEMPLATE = "model-card.md.j2"


TOOL_TAG = "mlops-ci"


def _one_line(value: Any) -> str:
    # front-matter values are identifiers: one line each, so none can end the YAML block
    return " ".join(str(value).split())


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-") or "dataset"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def card_metadata(report: Report) -> dict[str, Any]:
    """The front matter as data, in the Hugging Face model-card format."""
    card, model = report.card, report.model
    meta: dict[str, Any] = {
        "library_name": _one_line(model.library),
        "license": _one_line(card.license) or "other",
        "tags": _unique([_one_line(t) for t in card.tags] + [TOOL_TAG]),
    }
    tag = pipeline_tag(model.task)
    if tag:
        meta["pipeline_tag"] = tag
    if card.datasets:
        meta["datasets"] = _unique([_one_line(d) for d in card.datasets])
    if card.language:
        meta["language"] = _unique([_one_line(lang) for lang in card.language])

    # bools are ints to Python but not metric values to the Hub
    numeric = [m for m in ordered_metrics(report) if is_number(m.head)]
    if numeric:
        meta["metrics"] = _unique([_one_line(m.name) for m in numeric])
        if card.datasets:
            dataset_name = _one_line(card.datasets[0])
            dataset_type = dataset_name
        else:
            dataset_name = f"{_one_line(model.name)} evaluation data"
            dataset_type = _slug(dataset_name)
        meta["model-index"] = [
            {
                "name": _one_line(model.name),
                "results": [
                    {
                        "task": {
                            "type": SHORT_TASKS.get(model.task, _one_line(model.task)),
                            "name": _one_line(model.task.replace("-", " ").capitalize()),
                        },
                        "dataset": {"type": dataset_type, "name": dataset_name},
                        "metrics": [
                            {"type": _one_line(m.name), "value": m.head, "name": _one_line(m.name)}
                            for m in numeric
                        ],
                    }
                ],
            }
        ]
    return meta


# Plain (unquoted) only for strings that read back as the same string in YAML 1.1 too: the Hub
# and most card readers use PyYAML, for which `yes`, `on`, `null` or `1_000` are not strings.
_PLAIN_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*( [A-Za-z0-9_./-]+)*")
_YAML11_WORDS = frozenset(["y", "yes", "n", "no", "true", "false", "on", "off", "null"])


def _yaml() -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.representer import SafeRepresenter

    class Representer(SafeRepresenter):  # a subclass: never change ruamel's global tables
        pass

    def represent_str(representer: SafeRepresenter, data: str) -> Any:
        plain = _PLAIN_SAFE.fullmatch(data) and data.lower() not in _YAML11_WORDS
        return representer.represent_scalar(
            "tag:yaml.org,2002:str", data, style=None if plain else "'"
        )

    def represent_float(representer: SafeRepresenter, data: float) -> Any:
        # YAML 1.1 floats need a dot in the mantissa and a signed exponent: 1e-07 is a string
        if math.isnan(data) or math.isinf(data):
            text = ".nan" if math.isnan(data) else ("-.inf" if data < 0 else ".inf")
        else:
            mantissa, has_exponent, exponent = repr(data).lower().partition("e")
            if "." not in mantissa:
                mantissa += ".0"
            if has_exponent and exponent[0] not in "+-":
                exponent = "+" + exponent
            text = f"{mantissa}e{exponent}" if has_exponent else mantissa
        return representer.represent_scalar("tag:yaml.org,2002:float", text)

    Representer.add_representer(str, represent_str)
    Representer.add_representer(float, represent_float)
    yaml = YAML(typ="safe", pure=True)
    yaml.Representer = Representer
    yaml.default_flow_style = False
    # keep the order we built; ruamel annotates this attribute as None
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 1 << 20  # never fold a value onto a second line
    return yaml


def dump_front_matter(meta: dict[str, Any]) -> str:
    buffer = io.StringIO()
    _yaml().dump(meta, buffer)
    return f"---\n{buffer.getvalue()}---\n"


def card_text(report: Report, key: str) -> str:
    """One human-written text of the card as markdown, or the note that says how to add it."""
    text = getattr(report.card, key)
    if text and text.strip():
        return prose(text)
    return f"_Not provided: add `card.{key}` to {md(report.config_file)}._"


def card_context(
    report: Report,
    text: Callable[[Report, str], str] = card_text,
    *,
    images_from: str | None = None,
) -> dict[str, Any]:
    """What the card template reads; *text* renders the human-written texts.

    *images_from*: the repository root's path from the card file, to embed image plots; None
    for the card folded into report.md, which points at the report's plots instead.
    """
    from mlops_ci.render_plots import render_plots_md

    if images_from is not None:
        plots = render_plots_md(report, images_from=images_from)
    else:
        plots = "The plots are shown in the report above." if report.plots else ""
    return {
        "report": report,
        "metrics": ordered_metrics(report),
        "hyperparams": hyperparams(report),
        "card_text": lambda key: text(report, key),
        "plots_md": plots,
    }


def render_card_body(
    report: Report, template_dir: Path | None = None, *, images_from: str | None = None
) -> str:
    """The card without its front matter (for folding into report.md, *images_from* None)."""
    context = card_context(report, images_from=images_from)
    return render_template(CARD_TEMPLATE, context, template_dir)


def render_card(
    report: Report, template_dir: Path | None = None, *, images_from: str = "."
) -> str:
    """model-card.md: Hugging Face front matter, then the Mitchell et al. sections.

    *images_from* is the repository root as a path from the card's directory (``..`` for
    ``.mlops/model-card.md``): image plots are embedded by their path from there.
    """
    body = render_card_body(report, template_dir, images_from=images_from)
    return f"{dump_front_matter(card_metadata(report))}\n{body.lstrip(chr(10))}"


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(metadata, body) of a card; ({}, text) when it has no front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n") != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r\n") == "---"), None)
    if end is None:
        return {}, text
    from ruamel.yaml.error import YAMLError

    try:
        meta = _yaml().load("".join(lines[1:end]))
    except YAMLError as exc:
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise InputError(f"The model card's front matter is not valid YAML ({problem}).") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise InputError("The model card's front matter is not a YAML mapping.")
    return meta, "".join(lines[end + 1:]).lstrip("\r\n")
