"""Talking to the GitHub Actions runner: step outputs, the job summary, workflow commands.

Pure functions build every string; two writers append them to the runner's files once, at the
edge, and do nothing when the runner did not provide the file (outside Actions). Workflow
commands (annotations, masks, groups) are returned as lines for the caller to print.

Text that reaches the runner may come from a pull request (branch names, titles, metric
names), so it is always escaped the way GitHub's toolkit escapes it: no value can end a
command early or start a second one.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mlops_ci.errors import InputError

if TYPE_CHECKING:
    from mlops_ci.report import Report

# The step outputs the action declares in action.yml.
OUTPUT_NAMES = ("verdict", "report-json", "report-md", "model-card", "comment-url", "failed-gates")

# The runner rejects a step summary larger than this (it counts the whole file of the step).
SUMMARY_LIMIT = 1024 * 1024
SUMMARY_CUT_NOTE = (
    "\n\n---\n\n**The rest of this summary was cut:** GitHub shows at most 1 MiB of summary "
    "per step. The full report is in the `report-md` file of this run.\n"
)

AnnotationLevel = Literal["error", "warning", "notice"]
_LEVELS = ("error", "warning", "notice")
_OUTPUT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


# --- step outputs ($GITHUB_OUTPUT) ---

def _random_delimiter() -> str:
    return f"ghadelimiter_{uuid.uuid4()}"


def format_outputs(
    outputs: Mapping[str, str], *, new_delimiter: Callable[[], str] = _random_delimiter
) -> str:
    """The text to append to ``$GITHUB_OUTPUT``: one ``name<<delimiter`` block per output.

    The block form carries any value, newlines included. The runner ends a value at the first
    line equal to the delimiter, so the delimiter is random and checked not to occur in the
    value (``new_delimiter`` is replaceable for tests).
    """
    blocks = []
    for name, value in outputs.items():
        if not _OUTPUT_NAME.fullmatch(name):
            raise ValueError(f"invalid step output name {name!r}")
        if not isinstance(value, str):
            raise TypeError(f"step output {name!r} must be a str, not {type(value).__name__}")
        for _ in range(10):
            delimiter = new_delimiter()
            if delimiter and "\n" not in delimiter and delimiter not in value:
                break
        else:
            raise RuntimeError(f"no delimiter found that is absent from output {name!r}")
        blocks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(blocks)


def write_outputs(outputs: Mapping[str, str], env: Mapping[str, str]) -> bool:
    """Append *outputs* to ``$GITHUB_OUTPUT``; False (and nothing written) when it is unset."""
    path = env.get("GITHUB_OUTPUT", "")
    if not path:
        return False
    _append(Path(path), format_outputs(outputs), "GITHUB_OUTPUT")
    return True


def report_outputs(
    report: Report,
    *,
    report_json: str | Path,
    report_md: str | Path,
    model_card: str | Path | None = None,
    comment_url: str | None = None,
) -> dict[str, str]:
    """The step outputs for one run. Outputs with no value (no card, no comment) are left out.

    ``failed-gates`` is a JSON list of the metrics whose error-severity gates failed (the ones
    that fail the verdict), so that a workflow can test ``contains(fromJSON(...), 'accuracy')``.
    """
    failed = list(dict.fromkeys(g.metric for g in report.failed_gates("error")))
    outputs = {
        "verdict": report.verdict.status,
        "report-json": str(report_json),
        "report-md": str(report_md),
        "failed-gates": json.dumps(failed),
    }
    if model_card is not None:
        outputs["model-card"] = str(model_card)
    if comment_url:
        outputs["comment-url"] = comment_url
    return outputs


# --- the job summary ($GITHUB_STEP_SUMMARY) ---

def fit_summary(markdown: str, budget: int) -> tuple[str, bool]:
    """*markdown* cut to at most *budget* UTF-8 bytes; the bool says whether it fit whole.

    A cut ends at a line break (never inside a UTF-8 character) and is followed by
    SUMMARY_CUT_NOTE, so the reader sees that something is missing. When not even the note
    fits, the result is empty.
    """
    encoded = markdown.encode("utf-8")
    if len(encoded) <= budget:
        return markdown, True
    room = budget - len(SUMMARY_CUT_NOTE.encode("utf-8"))
    if room <= 0:
        return "", False
    # The bytes before the cut are valid UTF-8 except maybe a character split at the end,
    # which "ignore" drops.
    kept = encoded[:room].decode("utf-8", errors="ignore")
    line_end = kept.rfind("\n")
    if line_end >= 0:
        kept = kept[: line_end + 1]
    return kept + SUMMARY_CUT_NOTE, False


def append_step_summary(markdown: str, env: Mapping[str, str]) -> bool:
    """Append *markdown* to ``$GITHUB_STEP_SUMMARY``, keeping the file within SUMMARY_LIMIT.

    Counts what earlier writes of this step already put there. Returns True when the text was
    written whole; False when the variable is unset (nothing written) or the text was cut.
    """
    path_text = env.get("GITHUB_STEP_SUMMARY", "")
    if not path_text:
        return False
    path = Path(path_text)
    try:
        used = path.stat().st_size
    except FileNotFoundError:
        used = 0
    if not markdown.endswith("\n"):
        markdown += "\n"  # so that the next append starts a block of its own
    text, whole = fit_summary(markdown, SUMMARY_LIMIT - used)
    if text:
        _append(path, text, "GITHUB_STEP_SUMMARY")
    return whole


def _append(path: Path, text: str, variable: str) -> None:
    try:
        # newline="" writes "\n" as is; the runner splits on "\n".
        with path.open("a", encoding="utf-8", newline="") as f:
            f.write(text)
    except OSError as exc:
        raise InputError(
            f"Cannot append to {path}, the file named by {variable} ({exc.strerror})."
        ) from None


def gate_annotations(report: Report) -> list[str]:
    """One annotation per failed gate rule, pointing at its line in the config file."""
    lines = []
    for gate in report.failed_gates():
        level: AnnotationLevel = "error" if gate.severity == "error" else "warning"
        kind = "failed" if gate.severity == "error" else "warning"
        lines.append(
            annotation(
                level,
                gate.explanation,
                file=report.config_file,
                line=gate.line,
                title=f"Gate {kind}: {gate.metric}",
            )
        )
    return lines


# --- workflow commands (printed on stdout, one per line) ---

def escape_data(text: str) -> str:
    """Escape a command's message as GitHub's toolkit does: no newline can end the command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property: additionally ``:`` and ``,``, which delimit properties."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, message: str, properties: Mapping[str, str | None] | None = None) -> str:
    props = ",".join(
        f"{key}={escape_property(value)}" for key, value in (properties or {}).items() if value
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def annotation(
    level: AnnotationLevel,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
) -> str:
    """An ``::error``/``::warning``/``::notice`` command, shown on the run and on the diff."""
    if level not in _LEVELS:
        raise ValueError(f"annotation level must be one of {_LEVELS}, not {level!r}")
    if line is not None and (isinstance(line, bool) or not isinstance(line, int) or line < 1):
        raise ValueError(f"annotation line must be a positive int, not {line!r}")
    return _command(
        level, message, {"file": file, "line": None if line is None else str(line), "title": title}
    )


def add_mask(value: str) -> str:
    """``::add-mask::``: the runner replaces *value* with ``***`` in every later log line."""
    return _command("add-mask", value)


def group(title: str) -> str:
    """Start a collapsible group in the log; close it with :func:`endgroup`."""
    return _command("group", title)


def endgroup() -> str:
    return _command("endgroup", "")
