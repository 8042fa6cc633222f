"""`mlops-ci registry [NAME]` (alias `show`): the model registry as `gto show` prints it.

Without NAME: one row per model (GTO artifact) with its latest version and the version in
each stage; ``--json`` prints :meth:`Registry.show`, which is `gto show --json` key for key.
With NAME: the model's versions, newest first, with the stages each holds, its commit and
the date of its tag. Read-only: one ``git for-each-ref``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from mlops_ci.errors import EXIT_OK, InputError, MlopsError
from mlops_ci.registry import Artifact, Registry, Version, read_registry
from mlops_ci.revisions import find_root

NONE = "-"


def registry(*, cwd: Path, name: str | None, as_json: bool, stdout: TextIO) -> int:
    root = find_root(cwd)
    reg = read_registry(root)
    if name is None:
        if as_json:
            print(json.dumps(reg.show(), indent=4), file=stdout)
        else:
            print(overview(reg), file=stdout)
        return EXIT_OK
    artifact = _artifact(root, reg, name)
    if as_json:
        print(json.dumps(versions_json(artifact, name), indent=4), file=stdout)
    else:
        print(versions_table(artifact, name), file=stdout)
    return EXIT_OK


def overview(reg: Registry) -> str:
    """The terminal table of `gto show`: name, latest, then ``#STAGE`` columns."""
    active = {name: a for name, a in reg.artifacts.items() if not a.deprecated}
    # every stage that any artifact uses, as `gto show` has a column for each
    stages = sorted({stage for a in reg.artifacts.values() for stage in a.held})
    rows = [
        [name, _name(a.latest_version), *(_name(a.stage_version(s)) for s in stages)]
        for name, a in active.items()
    ]
    lines = []
    if rows:
        lines.append(table(["name", "latest", *(f"#{s}" for s in stages)], rows))
    deprecated = sorted(name for name, a in reg.artifacts.items() if a.deprecated)
    if deprecated:
        lines.append(f"Deprecated (not listed): {', '.join(deprecated)}.")
    if reg.plain is not None and reg.plain.latest_version is not None:
        lines.append(
            f"Bare version tags (the repository's single model, not read by GTO): latest "
            f"{reg.plain.latest_version.name}, {len(reg.plain.versions)} in all."
        )
    if not lines:
        lines.append(
            "No model registry tags here (NAME@vX.Y.Z, NAME#STAGE#N). On CI, check out with "
            "`fetch-depth: 0` so that the tags are fetched."
        )
    return "\n".join(lines)


def versions_table(artifact: Artifact, name: str) -> str:
    if artifact.deprecated:
        return f"{name} is deprecated: it lists no versions and no stages until it is revived."
    listed = _listed(artifact)
    if not listed:
        return f"{name} has no registered versions."
    rows = [
        [
            version.name if version.registered else f"{version.commit[:12]} (not registered)",
            ", ".join(stages) or NONE,
            version.commit[:12],
            _date(version.created),
            version.tag or NONE,
        ]
        for version, stages in listed
    ]
    return table(["version", "stages", "commit", "created", "tag"], rows)


def versions_json(artifact: Artifact, name: str) -> list[dict[str, object]]:
    """The model's versions with their stages; the keys are those of `gto show NAME --json`."""
    return [
        {
            "artifact": name,
            "version": version.name,
            "registered": version.registered,
            "stages": list(stages),
            "commit_hexsha": version.commit,
            "created_at": version.created.isoformat() if version.created else None,
            "ref": version.tag,
        }
        for version, stages in _listed(artifact)
    ]


def _listed(artifact: Artifact) -> list[tuple[Version, tuple[str, ...]]]:
    """Every registered version, and every unregistered commit that holds a stage, with the
    stages each one holds now."""
    current = artifact.stages
    versions = list(artifact.versions)
    versions += [v for v in dict.fromkeys(current.values()) if not v.registered]
    return [
        (version, tuple(sorted(s for s, held in current.items() if held == version)))
        for version in versions
    ]


def _artifact(root: Path, reg: Registry, name: str) -> Artifact:
    found = reg.artifact(name)
    if found is not None:
        return found
    if reg.plain is not None:
        from mlops_ci.config import load_config

        try:
            owner = load_config(root).model.name
        except MlopsError:
            owner = None
        if owner == name:
            return reg.plain
    names = ", ".join(sorted(reg.artifacts)) or "none"
    raise InputError(
        f"There is no model {name!r} in the registry (its models: {names}). Run `mlops-ci "
        "registry` to list them."
    )


def _name(version: Version | None) -> str:
    return version.name if version else NONE


def _date(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else NONE


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Aligned columns under a header and a rule (plain text: a CI log shows it as it is)."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])
