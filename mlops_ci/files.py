"""Small file helpers shared by the writers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file beside *path*, so a failure never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def read_json(path: Path, *, label: str, missing: str, fix: str = "") -> Any:
    """The JSON document in *path*; every failure is one InputError that starts with *label*.

    *missing* finishes the sentence when the file does not exist; *fix*, a sentence telling the
    user what to pass instead, follows the messages about content that is not JSON.
    """
    tail = f" {fix}" if fix else ""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{label} {missing}") from None
    except UnicodeDecodeError:
        raise InputError(f"{label} is not UTF-8 text, so it is not JSON.{tail}") from None
    except OSError as exc:
        raise InputError(f"{label} cannot be read ({exc.strerror}).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{label} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).{tail}"
        ) from None
    except RecursionError:  # nesting deep enough to exhaust the parser
        raise InputError(f"{label} is nested too deeply to be read.{tail}") from None
