"""Whether a predictions file's metadata holds together, beyond each key's type.

``predictions._problem`` checks each key of the ``mlops-ci`` metadata on its own; this module
checks them against each other and against what a path in a repository may be: a binary task
has two labels, labels are distinct, the positive label is one of them, a regression has
none, and ``metrics_file``, ``model`` and ``data`` are relative paths that stay inside the
repository (no absolute path, no ``..``). Both the writer and the reader call it, so a file
`mlops-ci evaluate` writes is always one it reads back.
"""

from __future__ import annotations

import re
from typing import Any

PATH_KEYS = ("metrics_file", "model", "data")
_WINDOWS_ABSOLUTE = re.compile(r"[A-Za-z]:")


def coherence_problem(document: dict[str, Any]) -> str | None:
    """Why the (well-typed) metadata *document* does not hold together; None when it does."""
    task, labels = document.get("task"), document.get("labels")
    pos_label = document.get("pos_label")
    if labels is not None:
        if task == "regression":
            return "it is a regression, yet it names class labels"
        keys = [(type(x) is bool, x) for x in labels]  # True is not the label 1
        if len(set(keys)) != len(keys):
            return "its labels name a label twice"
        if task == "binary" and len(labels) != 2:
            return f"its task is binary, yet it names {len(labels)} labels, not 2"
    if pos_label is not None:
        if task != "binary":
            return f"its pos_label is set, but its task is {task}, not binary"
        if labels is not None and (type(pos_label) is bool, pos_label) not in {
            (type(x) is bool, x) for x in labels
        }:
            return "its pos_label is not one of its labels"
    for key in PATH_KEYS:
        value = document.get(key)
        if isinstance(value, str) and escapes(value):
            return f"its {key} {value[:200]!r} is not a relative path inside the repository"
    return None


def escapes(path: str) -> bool:
    """Whether *path* is absolute (POSIX or Windows) or climbs out with ``..``."""
    if path.startswith(("/", "\\")) or _WINDOWS_ABSOLUTE.match(path):
        return True
    return ".." in re.split(r"[/\\]", path)
