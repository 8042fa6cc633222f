"""Where a failed `dvc repro` stands in the pipeline's files: the stage's line in dvc.yaml.

A failure annotation on GitHub Actions points at that line. The stage's name comes from DVC's
message (``train``, ``train@1`` for a ``foreach`` item, ``sub/dvc.yaml:train`` for another
file); a ``dvc.yaml`` that DVC refused names its own line. dvc.yaml is the pull request's: it
is read inside the repository only, as a regular file, bounded, and never required — when the
line cannot be found, the annotation names the file alone.
"""

from __future__ import annotations

import re
from pathlib import Path

from mlops_ci.errors import Location, MlopsError

DVC_FILE = "dvc.yaml"
_MAX_BYTES = 1024 * 1024
# `'./dvc.yaml' validation failed.` … `extra keys not allowed, in stages -> ok, line 4, column 11`
_INVALID_FILE = re.compile(r"'(?P<file>[^'\n]{1,500})' (?:validation failed|is invalid)")
_LINE = re.compile(r"\bline (?P<line>[0-9]{1,9}), column [0-9]+")


def failure_location(root: Path, exc: MlopsError, output: str = "") -> Location | None:
    """Where *exc*, an error of `dvc repro` whose output ends with *output*, stands."""
    if exc.location is not None:
        return exc.location
    if exc.stage:
        return stage_location(root, exc.stage)
    invalid = _INVALID_FILE.search(output)
    if invalid is not None:
        path = _inside(root, invalid["file"])
        if path is not None:
            line = _LINE.search(output, invalid.end())
            return Location(path, int(line["line"]) if line else None)
    return None


def stage_location(root: Path, stage: str) -> Location | None:
    """The file and line of *stage*'s key under ``stages:``; the line None when not found."""
    file, sep, name = stage.rpartition(":")
    if not sep or not file.endswith(DVC_FILE):
        file, name = DVC_FILE, stage
    name = name.split("@", 1)[0]  # a foreach item is defined by its stage's key
    path = _inside(root, file)
    if path is None:
        return None
    return Location(path, _stage_line(path, name), name)


def _inside(root: Path, relative: str) -> Path | None:
    from mlops_ci.security import resolve_inside

    try:
        path = resolve_inside(root, relative.removeprefix("./"), what="The pipeline file")
    except MlopsError:
        return None
    return path if path.is_file() else None


def _stage_line(path: Path, name: str) -> int | None:
    from mlops_ci.config_yaml import parse_document
    from mlops_ci.security import read_regular_file

    try:
        text = read_regular_file(path, what="dvc.yaml", limit=_MAX_BYTES).decode("utf-8")
        _, positions = parse_document(text, path.name)
    except (MlopsError, OSError, UnicodeDecodeError, RecursionError):
        return None
    position = positions.get(("stages", name))
    return position[0] + 1 if position else None
