"""DVC's results: metrics and params at a revision, read through DVC's Python API.

`dvc repro` itself runs in ``repro.py``; the lineage from dvc.lock is built in ``lineage.py``.

Metrics and params come from DVC's Python API (``Repo.metrics.show`` / ``Repo.params.show``), the
same code `dvc metrics diff` uses, never from parsing CLI output. dvc is imported inside the
functions so that importing this module costs nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.schemas import is_writable_text


@dataclass
class Snapshot:
    """Metrics and params of one revision, each keyed by file, then by flattened name."""

    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    # metrics files the revision declares but whose values could not be read: file -> why
    unreadable: dict[str, str] = field(default_factory=dict)
    # at head: metrics files the next change will not find at this revision either -> why
    next_base: dict[str, str] = field(default_factory=dict)


def use_our_log_handlers() -> None:
    """Route DVC's in-process log records through mlops-ci's handler, and only there.

    Importing dvc attaches DVC's own console handlers to its loggers; with ours on the root
    logger every DVC warning was printed twice, once of them not defused for the runner's log.
    """
    import logging

    level = max(logging.getLogger().getEffectiveLevel(), logging.INFO)
    for name in ("dvc", "dvc_objects", "dvc_data"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(level)


def read_snapshots(
    root: Path,
    base_rev: str | None,
    metric_files: tuple[str, ...],
    *,
    base_name: str | None = None,
) -> tuple[Snapshot, Snapshot | None]:
    """The workspace's metrics and params, and the base revision's (None without a base).

    The workspace must have every metrics file (a missing or unreadable one is an InputError).
    At the base, DVC reads cached outputs from the local cache, else from the default remote,
    without writing them into the workspace. A file the base does not declare means its metrics
    are new; one it declares but that could not be read is in ``Snapshot.unreadable``, with why.
    *base_name* is the base as the user knows it (``origin/main``), for those sentences.
    """
    from dvc.repo import Repo

    from mlops_ci.base_files import default_remote, next_base_problems

    use_our_log_handlers()
    targets = list(metric_files) or None
    revs = [base_rev] if base_rev else None
    with Repo(str(root)) as repo:
        metrics = repo.metrics.show(targets=targets, revs=revs)
        params = repo.params.show(revs=revs)
        remote = default_remote(repo)

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
        head.next_base = next_base_problems(root, list(head.metrics), remote=remote)
        return head, None
    base = _base_snapshot(
        root, base_rev, metrics.get(base_rev, {}), params.get(base_rev, {}),
        head_files=list(head.metrics), where=base_name or base_rev[:12], remote=remote,
    )
    new_files = [f for f in head.metrics if f not in base.metrics and f not in base.unreadable]
    head.next_base = next_base_problems(root, new_files, remote=remote)
    return head, base


def read_base_snapshot(
    root: Path,
    rev: str,
    metric_files: tuple[str, ...],
    *,
    head_files: Iterable[str] = (),
    base_name: str | None = None,
) -> Snapshot:
    """The metrics at *rev* alone, read as :func:`read_snapshots` reads a base; no head.

    For a head that was computed elsewhere (the fork-safe commenter's untrusted report): no
    workspace file is needed, and nothing of the head is read. *head_files* are the head's
    metrics files, only to tell a file the base declares but could not read (``unreadable``)
    from one it does not produce. Params are not read. Run from *root* (DVC resolves
    *metric_files* from the working directory).
    """
    from dvc.repo import Repo

    from mlops_ci.base_files import default_remote

    use_our_log_handlers()
    with Repo(str(root)) as repo:
        metrics = repo.metrics.show(targets=list(metric_files) or None, revs=[rev])
        remote = default_remote(repo)
    return _base_snapshot(
        root, rev, metrics.get(rev, {}), {}, head_files=list(head_files),
        where=base_name or rev[:12], remote=remote,
    )


def _base_snapshot(
    root: Path,
    rev: str,
    metrics: dict[str, Any],
    params: dict[str, Any],
    *,
    head_files: list[str],
    where: str,
    remote: str | None,
) -> Snapshot:
    """The base side of DVC's results for *rev*: values, and why a declared file is missing."""
    missing: list[str] = []
    base = Snapshot(
        metrics=_files_data(metrics, kind="metrics", where=where, strict=False, missing=missing),
        params=_files_data(params, kind="params", where=where, strict=False),
    )
    base.unreadable = _unreadable(
        root, rev, [*missing, *(f for f in head_files if f not in base.metrics)],
        revision=where, remote=remote,
    )
    return base


def _unreadable(
    root: Path, rev: str, files: list[str], *, revision: str, remote: str | None
) -> dict[str, str]:
    """The *files* the base declares but DVC could not read there, each with why and the fix."""
    from mlops_ci.base_files import declared_at, unreadable_reason

    if not files:
        return {}
    declared = declared_at(root, rev)
    branch = revision.removeprefix("origin/")
    reasons: dict[str, str] = {}
    for file in dict.fromkeys(files):
        reason = unreadable_reason(
            file, declared, revision=revision, branch=branch, remote=remote
        )
        if reason:
            reasons[file] = reason
    return reasons


def _files_data(
    rev_result: dict[str, Any],
    *,
    kind: str,
    where: str,
    strict: bool,
    missing: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Flatten DVC's ``{"data": {file: {"data": {...}} | {"error": exc}}}`` for one revision.

    Not *strict*: a file that is not there is left out, and its name added to *missing*.
    """
    out: dict[str, dict[str, Any]] = {}
    for path, entry in sorted((rev_result.get("data") or {}).items()):
        if "error" in entry:
            error = entry["error"]
            absent = _is_absent(error)
            if absent and not strict:
                if missing is not None:
                    missing.append(path)
                continue
            if absent:
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


def _is_absent(error: object) -> bool:
    """DVC's error for a file that is not there: not in git, nor the cache, nor the remote."""
    name = type(error).__name__
    return isinstance(error, FileNotFoundError) or "FileNotFound" in repr(error) or (
        "Remote" in name or "Missing" in name or "failed to load directory" in str(error)
    )


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
