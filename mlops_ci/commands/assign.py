"""`mlops-ci assign` (alias `promote`), `unassign` and `deprecate`: GTO's stage verbs.

Each reads the registry from the tags (one ``git for-each-ref``), checks the request against
it, and writes one annotated tag in GTO's grammar (``registry_write``): ``NAME#STAGE#N`` puts
a version in a stage, ``NAME#STAGE!#N`` takes it out, ``NAME@deprecated`` retires the model.
N is the artifact's next counter, counted over every tag so that it never collides. The stage
tag's message carries the gate record of the version's release tag, so that the registry
says what a version passed when it was promoted.

Exit code 0: written, or nothing to do (already so); 2: refused, with what the registry has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mlops_ci.errors import EXIT_OK, InputError, MlopsError
from mlops_ci.registry import Artifact, Registry, Version, read_registry
from mlops_ci.registry_tags import (
    VERSION_FORM,
    deprecate_tag,
    deregister_tag,
    is_version,
    parse_release_tag,
    stage_tag,
    try_parse_tag,
    unassign_tag,
    version_tag,
)
from mlops_ci.registry_write import NewTag, write_tags
from mlops_ci.revisions import find_root

RELEASE_RECORD = "mlops-ci release "  # how the version tag's message starts when we wrote it
SHOWN = 10  # names listed in a refusal


@dataclass(frozen=True)
class _Model:
    """The model a command names: its GTO artifact, and the bare vX.Y.Z tags when they are its."""

    name: str
    artifact: Artifact | None
    plain: Artifact | None


def assign(
    *,
    cwd: Path,
    name: str,
    version: str,
    stage: str,
    message: str | None,
    push: bool,
    remote: str,
    stdout: TextIO,
) -> int:
    """Put *version* of model *name* in *stage*: the tag ``NAME#STAGE#N`` on its commit."""
    stage_tag(name, stage, 1)  # the name and the stage in GTO's grammar, or the form
    root = find_root(cwd)
    registry = read_registry(root)
    model = _find_model(root, registry, name)
    wanted = _version_name(version, name)
    _refuse_deprecated(model)
    found, registration = _version_to_assign(registry, model, wanted)
    current = model.artifact.stage_version(stage) if model.artifact else None
    if current is not None and (current.name, current.commit) == (found.name, found.commit):
        print(f"{name} {found.name} is already in {stage}; nothing written.", file=stdout)
        return EXIT_OK
    tag = stage_tag(name, stage, registry.next_counter(name))
    lines = [f"mlops-ci assign {name} {found.name} to {stage}", "", *_gate_record(found)]
    tags = [*registration, NewTag(tag, found.commit, _with_note(lines, message))]

    def verify() -> None:  # the registry with the new tags must say what was asked
        now = read_registry(root).artifact(name)
        held = now.stage_version(stage) if now else None
        if held is None or (held.name, held.commit) != (found.name, found.commit):
            raise InputError(_clock_problem(tag))

    write_tags(root, tags, push=push, remote=remote, verify=verify)
    written = " and ".join(t.name for t in tags)
    was = f" (it had {current.name})" if current is not None else ""
    print(
        f"{stage} now holds {name} {found.name}{was}: wrote {written} on {found.commit[:12]}"
        f"{_pushed(push, remote)}.",
        file=stdout,
    )
    return EXIT_OK


def unassign(
    *,
    cwd: Path,
    name: str,
    stage: str,
    message: str | None,
    push: bool,
    remote: str,
    stdout: TextIO,
) -> int:
    """Take the version now in *stage* out of it: ``NAME#STAGE!#N`` on its commit."""
    stage_tag(name, stage, 1)
    root = find_root(cwd)
    registry = read_registry(root)
    model = _find_model(root, registry, name)
    _refuse_deprecated(model)
    artifact = model.artifact
    used = _stages_named(registry, name)
    if artifact is None or stage not in used:
        names = ", ".join(used) or "none"
        raise InputError(
            f"{name} has never been assigned the stage {stage!r} (its stages: {names}), so "
            "there is nothing to unassign. Check the stage's name."
        )
    current = artifact.stage_version(stage)
    if current is None:
        print(f"{name} has no version in {stage}; nothing written.", file=stdout)
        return EXIT_OK
    tag = unassign_tag(name, stage, registry.next_counter(name))
    lines = [f"mlops-ci unassign {name} {current.name} from {stage}"]

    def verify() -> None:
        now = read_registry(root).artifact(name)
        held = now.stage_version(stage) if now else None
        if held is not None and (held.name, held.commit) == (current.name, current.commit):
            raise InputError(_clock_problem(tag))

    write_tags(
        root,
        [NewTag(tag, current.commit, _with_note(lines, message))],
        push=push,
        remote=remote,
        verify=verify,
    )
    after = read_registry(root).artifact(name)
    held = after.stage_version(stage) if after else None
    now = f"{stage} now holds {held.name}" if held else f"{stage} is empty now"
    print(
        f"Took {name} {current.name} out of {stage} ({now}): wrote {tag}{_pushed(push, remote)}.",
        file=stdout,
    )
    return EXIT_OK


def deprecate(
    *,
    cwd: Path,
    name: str,
    message: str | None,
    push: bool,
    remote: str,
    stdout: TextIO,
) -> int:
    """Retire model *name*: ``NAME@deprecated`` (GTO then lists no versions and no stages)."""
    deprecate_tag(name)  # the name in GTO's grammar, or the form
    root = find_root(cwd)
    registry = read_registry(root)
    model = _find_model(root, registry, name)
    artifact = model.artifact
    if artifact is None:
        raise InputError(
            f"{name}'s versions are bare vX.Y.Z tags, which GTO does not read, so there is no "
            f"registry entry to deprecate. Tag its versions {name}@vX.Y.Z to use the registry."
        )
    if artifact.deprecated:
        print(f"{name} is already deprecated; nothing written.", file=stdout)
        return EXIT_OK
    tag = deprecate_tag(name)
    if tag in registry.tag_names:  # deprecated before and revived since: GTO's form with #N
        tag = deprecate_tag(name, registry.next_counter(name))
    # GTO puts it on the commit of the artifact's latest event; any commit of the model will do
    anchor = artifact.latest_version or next(
        (a.version for held in artifact.held.values() for a in held), None
    )
    commit = anchor.commit if anchor else "HEAD"

    def verify() -> None:
        now = read_registry(root).artifact(name)
        if now is None or not now.deprecated:
            raise InputError(_clock_problem(tag))

    lines = [f"mlops-ci deprecate {name}"]
    write_tags(
        root,
        [NewTag(tag, commit, _with_note(lines, message))],
        push=push,
        remote=remote,
        verify=verify,
    )
    print(
        f"Deprecated {name}: wrote {tag}{_pushed(push, remote)}. The registry lists none of its "
        "versions or stages until a new event (a registration) revives it.",
        file=stdout,
    )
    return EXIT_OK


# --- what the registry has --------------------------------------------------------------------


def _find_model(root: Path, registry: Registry, name: str) -> _Model:
    """The model *name*: its GTO artifact, and the bare version tags when they are its own."""
    artifact = registry.artifact(name)
    plain = None
    if registry.plain is not None:
        try:
            owner = _configured_model(root)
        except MlopsError:  # mlops.yaml unusable: only a problem when nothing else names it
            if artifact is None:
                raise
            owner = None
        plain = registry.plain if owner == name else None
    if artifact is None and plain is None:
        raise InputError(f"There is no model {name!r} in the registry: {_what_exists(registry)}")
    return _Model(name, artifact, plain)


def _configured_model(root: Path) -> str | None:
    """The model's name as mlops.yaml (or dvc.yaml's one model artifact) gives it."""
    from mlops_ci.config import load_config

    return load_config(root).model.name or None


def _what_exists(registry: Registry) -> str:
    names = sorted(registry.artifacts)
    parts = []
    if names:
        listed = ", ".join(names[:SHOWN]) + (" ..." if len(names) > SHOWN else "")
        parts.append(f"its tags name {listed}")
    if registry.plain is not None:
        parts.append(
            "bare version tags (vX.Y.Z) belong to the model that mlops.yaml or dvc.yaml names"
        )
    if not parts:
        return (
            "the repository has no registry tags yet. Release a version first "
            "(`mlops-ci release`, or `git tag -a NAME@v1.0.0 -m ...`), and fetch the tags."
        )
    return "; ".join(parts) + "."


def _stages_named(registry: Registry, name: str) -> list[str]:
    """Every stage that a tag of artifact *name* names, held now or not."""
    parsed = (try_parse_tag(tag) for tag in registry.tag_names)
    return sorted({p.stage for p in parsed if p and p.artifact == name and p.stage})


def _refuse_deprecated(model: _Model) -> None:
    if model.artifact is not None and model.artifact.deprecated:
        raise InputError(
            f"{model.name} is deprecated (its latest tag is {model.name}@deprecated), so it has "
            "no versions to put in a stage. Register a new version to revive it."
        )


def _version_name(version: str, name: str) -> str:
    """The SemVer that VERSION names: ``v1.3.0``, or a release tag of model *name*."""
    if is_version(version):
        return version
    try:
        parsed = parse_release_tag(version)
    except InputError:
        raise InputError(
            f"VERSION {version!r} is not a version: give {VERSION_FORM}, or the version's tag "
            f"({name}@v1.3.0, or v1.3.0 for a repository's single model)."
        ) from None
    if parsed.artifact is not None and parsed.artifact != name:
        raise InputError(
            f"The tag {version!r} is a version of {parsed.artifact}, not of {name}: give "
            f"{name}'s version ({name}@{parsed.version}), or assign {parsed.artifact}."
        )
    return parsed.version


def _version_to_assign(
    registry: Registry, model: _Model, wanted: str
) -> tuple[Version, list[NewTag]]:
    """The registered version *wanted*, and the registration tag to write with the stage tag
    when only a bare ``vX.Y.Z`` tag has it (as ``gto assign --version`` registers)."""
    if model.artifact is not None:
        found = model.artifact.version(wanted)
        if found is not None:
            return found, []
    gone = deregister_tag(model.name, wanted)
    if gone not in registry.tag_names:
        bare = model.plain.version(wanted) if model.plain else None
        if bare is not None and version_tag(model.name, wanted) not in registry.tag_names:
            record = bare.message if bare.message.startswith(RELEASE_RECORD) else (
                f"mlops-ci assign registers {model.name} {wanted}, released as the tag {wanted}"
            )
            registration = version_tag(model.name, wanted)
            return (
                Version(model.name, wanted, bare.commit, True, tag=bare.tag, message=bare.message),
                [NewTag(registration, bare.commit, record)],
            )
    registered = [v.name for v in (model.artifact or model.plain or Artifact("")).versions]
    if model.artifact is not None and model.plain is not None:
        registered += [v.name for v in model.plain.versions if v.name not in registered]
    have = ", ".join(registered[:SHOWN]) if registered else "none"
    why = f"was deregistered (tag {gone})" if gone in registry.tag_names else "is not registered"
    raise InputError(
        f"{model.name} {wanted} {why}; its registered versions are: {have}. Release it first "
        f"(`mlops-ci release`, tag {model.name}@{wanted}), or assign one of those."
    )


def _gate_record(version: Version) -> list[str]:
    """The gate lines of the version's tag message, when mlops-ci's release wrote it."""
    text = version.message.replace("\r\n", "\n")
    head, blank, rest = text.partition("\n\n")
    lines = [line.rstrip() for line in rest.splitlines() if line.strip()]
    if head.startswith(RELEASE_RECORD) and blank and lines:
        return lines
    return [f"The version tag {version.tag or version.name} carries no mlops-ci gate record."]


def _with_note(lines: list[str], message: str | None) -> str:
    note = (message or "").strip()
    return "\n".join([*lines, *(["", note] if note else [])]).strip("\n")


def _clock_problem(tag: str) -> str:
    return (
        f"The tag {tag} would not read as the latest event (GTO orders tags by their tagger "
        "date, to the second, and a commit of the model is dated later than now), so it was "
        "deleted again and nothing changed. Check the clock and the commits' dates, then run "
        "the command again."
    )


def _pushed(push: bool, remote: str) -> str:
    return f", pushed to {remote}" if push else ", not pushed (--no-push)"

