"""Everything DVC: reproduce the pipeline, read metrics and params at a revision, read dvc.lock.

Metrics and params come from DVC's Python API (``Repo.metrics.show`` / ``Repo.params.show``), the
same code `dvc metrics diff` uses, never from parsing CLI output. dvc is imported inside the
functions so that importing this module costs nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mlops_ci.errors import InputError, PipelineError
from mlops_ci.proc import dvc_command, output_tail, run
from mlops_ci.report import DataVersion, Lineage
from mlops_ci.schemas import is_writable_text

CODE_SUFFIXES = {".py", ".r", ".R", ".sh", ".ipynb", ".jl", ".scala", ".java", ".js", ".ts", ".sql"}

# `ERROR: failed to reproduce 'train': failed to run: python src/train.py, exited with 1`
_FAILED_STAGE = re.compile(r"failed to reproduce '(?P<stage>[^']+)'")
_FAILED_CMD = re.compile(r"failed to run: (?P<cmd>.+?), exited with (?P<code>-?\d+)")


@dataclass
class Snapshot:
    """Metrics and params of one revision, each keyed by file, then by flattened name."""

    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)


def repro(root: Path, *, stream: TextIO | None) -> None:
    """Run `dvc repro`, streaming its output; a failure names the stage, its command and output."""
    result = run(dvc_command("repro"), cwd=root, check=False, stream=stream)
    if result.returncode == 0:
        return
    output = result.stdout
    tail = output_tail(output)
    stage = _FAILED_STAGE.search(output)
    cmd = _FAILED_CMD.search(output)
    if stage and cmd:
        message = (
            f"`dvc repro` failed in stage '{stage['stage']}': its command `{cmd['cmd']}` exited "
            f"with code {cmd['code']}. Fix the stage and run again; the last lines it printed:"
            f"\n{tail}"
        )
    else:
        message = (
            f"`dvc repro` failed (exit code {result.returncode}). Fix the pipeline and run again; "
            f"the last lines DVC printed:\n{tail}"
        )
    raise PipelineError(message, cmd=result.args, returncode=result.returncode, output_tail=tail)


def read_snapshots(
    root: Path, base_rev: str | None, metric_files: tuple[str, ...]
) -> tuple[Snapshot, Snapshot | None]:
    """The workspace's metrics and params, and the base revision's (None without a base).

    The workspace must have every metrics file (a missing or unreadable one is an InputError);
    at the base, a missing file only means the metrics are new there.
    """
    from dvc.repo import Repo

    targets = list(metric_files) or None
    revs = [base_rev] if base_rev else None
    with Repo(str(root)) as repo:
        metrics = repo.metrics.show(targets=targets, revs=revs)
        params = repo.params.show(revs=revs)

    head_key = "workspace" if revs else ""
    if not (metrics.get(head_key) or {}).get("data"):
        raise InputError(
            "No metrics found: no stage in dvc.yaml declares `metrics:` and mlops.yaml lists no "
            "`metrics.files`. Declare the file your evaluation stage writes in one of them."
        )
    head = Snapshot(
        metrics=_files_data(
            metrics.get(head_key, {}), kind="metrics", where="the workspace", strict=True
        ),
        params=_files_data(
            params.get(head_key, {}), kind="params", where="the workspace", strict=False
        ),
    )
    if base_rev is None:
        return head, None
    base = Snapshot(
        metrics=_files_data(
            metrics.get(base_rev, {}), kind="metrics", where=base_rev[:12], strict=False
        ),
        params=_files_data(
            params.get(base_rev, {}), kind="params", where=base_rev[:12], strict=False
        ),
    )
    return head, base


def _files_data(
    rev_result: dict[str, Any], *, kind: str, where: str, strict: bool
) -> dict[str, dict[str, Any]]:
    """Flatten DVC's ``{"data": {file: {"data": {...}} | {"error": exc}}}`` for one revision."""
    out: dict[str, dict[str, Any]] = {}
    for path, entry in sorted((rev_result.get("data") or {}).items()):
        if "error" in entry:
            error = entry["error"]
            missing = isinstance(error, FileNotFoundError) or "FileNotFound" in repr(error)
            if missing and not strict:
                continue
            if missing:
                raise InputError(
                    f"The {kind} file {path} does not exist in {where} after the pipeline ran. "
                    "Check that a stage in dvc.yaml writes it, and `metrics.files` in mlops.yaml."
                )
            raise InputError(
                f"The {kind} file {path} in {where} cannot be read as JSON or YAML "
                f"({_short(error)}). Fix the stage that writes it so that it writes a JSON or "
                "YAML mapping."
            )
        data = entry.get("data")
        if not isinstance(data, dict):
            if strict:
                raise InputError(
                    f"The {kind} file {path} in {where} does not hold a mapping of names to "
                    'values. Write it as, for example, {"accuracy": 0.97}.'
                )
            continue
        source = f"The {kind} file {path} in {where}"
        _check_text(path, source, what="a name of a file")
        out[path] = flatten(data, source=source)
    return out


def _short(error: object) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) < 160 else text[:157] + "..."


# A metrics or params file holds names and values by the thousand at most; YAML aliases can make
# a small file stand for billions, which DVC's loader shares but any walk over them expands.
MAX_VALUES_PER_FILE = 100_000
MAX_DEPTH = 100


def flatten(data: dict[Any, Any], *, source: str = "The file") -> dict[str, Any]:
    """``{"test": {"f1": 0.9}}`` → ``{"test.f1": 0.9}``; lists and scalars are values.

    Refused with an InputError that starts with *source*: two spellings of one name (the key
    ``"test.f1"`` beside ``"test": {"f1": ...}``), which would silently keep one of two values;
    text no file can hold (a lone surrogate such as ``"\\ud800"``); nesting deeper than
    MAX_DEPTH; and more than MAX_VALUES_PER_FILE values, counting each use of a YAML alias.
    """
    flat: dict[str, Any] = {}
    spellings: dict[str, tuple[Any, ...]] = {}
    counted = 0

    def count(value: Any, depth: int, *, is_key: bool = False) -> None:
        nonlocal counted
        counted += 1
        if counted > MAX_VALUES_PER_FILE:
            raise InputError(
                f"{source} holds more than {MAX_VALUES_PER_FILE} values (counting each use of a "
                "YAML alias); write fewer, or leave it out of the metrics and params DVC reads."
            )
        if depth > MAX_DEPTH:
            raise InputError(f"{source} is nested more than {MAX_DEPTH} levels deep; flatten it.")
        if isinstance(value, str) and not is_key:  # names are checked once joined
            _check_text(value, source, what=f"the value {ascii(value)[:80]}")
        elif isinstance(value, (list, tuple)):
            for item in value:
                count(item, depth + 1)

    def walk(mapping: dict[Any, Any], keys: tuple[Any, ...]) -> None:
        for key, value in mapping.items():
            here = (*keys, key)
            count(key, len(here), is_key=True)
            if isinstance(value, dict):
                walk(value, here)
                continue
            name = ".".join(str(k) for k in here)
            _check_text(name, source, what=f"the name {ascii(name)[:80]}")
            if name in flat:
                raise InputError(
                    f"{source} spells the name {name!r} twice, as {_spelling(spellings[name])} "
                    f"and as {_spelling(here)}, so one of its two values would be lost. "
                    "Rename one of them."
                )
            count(value, len(here))
            flat[name] = value
            spellings[name] = here

    walk(data, ())
    return flat


def _spelling(keys: tuple[Any, ...]) -> str:
    """How a name is written in the file: ``"test.f1"``, or ``"test" → "f1"`` when nested."""
    return " → ".join(json.dumps(k) if isinstance(k, str) else repr(k) for k in keys)


def _check_text(text: str, source: str, *, what: str) -> None:
    if not is_writable_text(text):
        raise InputError(
            f"{source} holds {what}, with an escape such as \\ud800 that is not a character "
            "(a lone surrogate), which no report can hold. Fix the stage that writes it."
        )


# --- lineage: what produced the model, from dvc.lock ---


def read_lock(text: str | None, *, source: str) -> dict[str, Any] | None:
    """Parse dvc.lock text; None when there is none."""
    if text is None:
        return None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise InputError(
            f"{source} is not valid YAML ({_short(exc)}). Run `dvc repro` to rewrite it."
        ) from None
    return data if isinstance(data, dict) else None


def lineage_from_lock(
    lock: dict[str, Any] | None,
    base_lock: dict[str, Any] | None,
    *,
    model_path: str,
    metric_files: set[str],
) -> Lineage:
    """Data, code and model versions recorded in dvc.lock at head (and the model's at base)."""
    lineage = Lineage()
    if not lock:
        return lineage
    stages = lock.get("stages") or {}
    seen: set[str] = set()
    for stage_name, stage in stages.items():
        lineage.stages.append(stage_name)
        for entry in [*(stage.get("deps") or []), *(stage.get("outs") or [])]:
            version = _version(entry, stage_name)
            if version is None or version.path in seen:
                continue
            seen.add(version.path)
            if version.path == model_path:
                lineage.model = version
            elif version.path in metric_files:
                continue
            elif Path(version.path).suffix in CODE_SUFFIXES:
                lineage.code.append(version)
            else:
                lineage.data.append(version)
    lineage.base_model = _find_out(base_lock, model_path)
    return lineage


def _version(entry: Any, stage: str) -> DataVersion | None:
    if not isinstance(entry, dict) or "path" not in entry:
        return None
    return DataVersion(
        path=str(entry["path"]),
        md5=entry.get("md5") or entry.get("etag") or entry.get("checksum"),
        size=entry.get("size"),
        nfiles=entry.get("nfiles"),
        stage=stage,
    )


def _find_out(lock: dict[str, Any] | None, path: str) -> DataVersion | None:
    for stage_name, stage in ((lock or {}).get("stages") or {}).items():
        for entry in stage.get("outs") or []:
            if isinstance(entry, dict) and entry.get("path") == path:
                return _version(entry, stage_name)
    return None
