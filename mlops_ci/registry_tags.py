"""GTO's tag grammar: read and write the names of the git tags that DVC's model registry uses.

The grammar is GTO's own (iterative/gto, ``gto/constants.py`` and ``gto/tag.py``), so that
``gto show`` and mlops-ci read the same tags the same way:

    NAME@vX.Y.Z          registers version vX.Y.Z of artifact NAME   (``gto register``)
    NAME@vX.Y.Z!         deregisters it                             (``gto deregister``)
    NAME#STAGE#N         assigns STAGE, N the artifact's counter    (``gto assign``)
    NAME#STAGE!#N        unassigns STAGE                            (``gto unassign``)
    NAME#STAGE           assigns STAGE, legacy form without counter (still read by GTO)
    NAME@deprecated      deprecates the artifact, ``#N`` optional   (``gto deprecate``)

Every form takes an optional ``#N``. NAME is ``[DIR:]NAME`` with the colon written ``=`` in a
tag. Pure functions only: no git here (``registry.py`` reads the tags).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

from mlops_ci.errors import InputError

# GTO's regular expressions, character for character (its `[a-zA-Z0-9-_./]` is this set).
_DIRNAME = r"[a-zA-Z0-9\-_./]+"
_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
# semver.org's expression; GTO requires the `v` in front of it.
_SEMVER = (
    r"(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)"
    r"(?:-(?P<prerelease>(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?:[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_ARTIFACT_IN_TAG = rf"(?:{_DIRNAME}=)?{_NAME}"
_TAG_RE = re.compile(
    rf"(?P<artifact>{_ARTIFACT_IN_TAG})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER}))(?P<cancel>!?)"
    r"|@(?P<deprecated>deprecated)|@(?P<created>created))"
    r"(?:#(?P<counter>[0-9]+))?"
)
_ARTIFACT_RE = re.compile(rf"(?:{_DIRNAME}:)?{_NAME}")
_STAGE_RE = re.compile(_NAME)
_VERSION_RE = re.compile(rf"v{_SEMVER}")

SEMVER_WORDS = "a semantic version with a leading v (v1.3.0, v1.3.0-rc.1)"
VERSION_FORM = f"vX.Y.Z, {SEMVER_WORDS}"
STAGE_FORM = "letters, digits, '-', '_' and '/', starting and ending with a letter or digit"
NAME_FORM = f"{STAGE_FORM}, optionally after a folder and a colon (models/churn:churn)"
RELEASE_FORM = "vX.Y.Z for a repository's single model, or NAME@vX.Y.Z for one of several"


class Action(enum.Enum):
    REGISTER = "register"
    DEREGISTER = "deregister"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEPRECATE = "deprecate"
    # `NAME@created` matches GTO's expression but GTO gives it no meaning (its reader fails on
    # one); it is recognised here so that it is ignored, never taken for something else.
    CREATE = "create"


@dataclass(frozen=True)
class RegistryTag:
    """What one tag name says, in GTO's terms."""

    tag: str
    artifact: str  # `DIR:NAME` as GTO names it; the tag writes `DIR=NAME`
    action: Action
    version: str | None = None  # REGISTER, DEREGISTER
    stage: str | None = None  # ASSIGN, UNASSIGN
    counter: int | None = None


@dataclass(frozen=True)
class ReleaseTag:
    """A tag that releases a model: ``vX.Y.Z`` (artifact None: the only one) or ``NAME@vX.Y.Z``."""

    tag: str
    artifact: str | None
    version: str

    @property
    def prerelease(self) -> bool:
        return is_prerelease(self.version)


def try_parse_tag(tag: str) -> RegistryTag | None:
    """What *tag* says in GTO's grammar, or None when it is not a GTO tag (as GTO skips it)."""
    match = _TAG_RE.fullmatch(tag)
    if match is None:
        return None
    cancelled = match["cancel"] == "!"
    if match["version"]:
        action = Action.DEREGISTER if cancelled else Action.REGISTER
    elif match["stage"]:
        action = Action.UNASSIGN if cancelled else Action.ASSIGN
    elif match["deprecated"]:
        action = Action.DEPRECATE
    else:
        action = Action.CREATE
    counter = match["counter"]
    return RegistryTag(
        tag=tag,
        artifact=match["artifact"].replace("=", ":"),
        action=action,
        version=match["version"],
        stage=match["stage"],
        counter=int(counter) if counter is not None else None,
    )


def parse_tag(tag: str) -> RegistryTag:
    """Like :func:`try_parse_tag`; a tag outside the grammar is an InputError naming the forms."""
    parsed = try_parse_tag(tag)
    if parsed is None:
        raise InputError(
            f"Tag {tag!r} is not in the model registry's (GTO's) grammar: expected NAME@vX.Y.Z, "
            "NAME@vX.Y.Z!, NAME#STAGE#N, NAME#STAGE!#N or NAME@deprecated, with NAME made of "
            f"{NAME_FORM} and vX.Y.Z {SEMVER_WORDS}."
        )
    return parsed


def parse_release_tag(tag: str) -> ReleaseTag:
    """The model and version a release tag names; any other tag is refused with the forms."""
    if is_version(tag):
        return ReleaseTag(tag=tag, artifact=None, version=tag)
    parsed = try_parse_tag(tag)
    if parsed is not None and parsed.action is Action.REGISTER:
        assert parsed.version is not None
        return ReleaseTag(tag=tag, artifact=parsed.artifact, version=parsed.version)
    raise InputError(
        f"Tag {tag!r} is not a release tag: expected {RELEASE_FORM}, where vX.Y.Z is "
        f"{SEMVER_WORDS}. Tag the commit again, e.g. `git tag -a v1.3.0 -m ...`."
    )


def is_version(value: str) -> bool:
    """True for a GTO version: ``v`` and a SemVer 2.0 version (pre-release and build allowed)."""
    return _VERSION_RE.fullmatch(value) is not None


def is_prerelease(version: str) -> bool:
    match = _VERSION_RE.fullmatch(version)
    return match is not None and match["prerelease"] is not None


def version_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
    """Sort key in SemVer 2.0 precedence: a pre-release sorts before its release; build ignored."""
    if not is_version(version):
        raise InputError(f"{version!r} is not a version: expected {VERSION_FORM}.")
    core, _, rest = version[1:].partition("+")[0].partition("-")
    major, minor, patch = (int(part) for part in core.split("."))
    if not rest:
        return (major, minor, patch, 1, ())
    # numeric identifiers compare as numbers and sort before alphanumeric ones
    idents = tuple(
        (0, int(ident), "") if ident.isdigit() else (1, 0, ident) for ident in rest.split(".")
    )
    return (major, minor, patch, 0, idents)


def version_tag(artifact: str, version: str) -> str:
    """``NAME@vX.Y.Z``: the tag that registers *version* (GTO writes it without a counter)."""
    return _checked(f"{_artifact_in_tag(artifact)}@{_checked_version(version)}")


def deregister_tag(artifact: str, version: str) -> str:
    """``NAME@vX.Y.Z!``: the tag that deregisters *version*."""
    return _checked(f"{_artifact_in_tag(artifact)}@{_checked_version(version)}!")


def stage_tag(artifact: str, stage: str, counter: int | None) -> str:
    """``NAME#STAGE#N``: assigns *stage* (``gto assign``); counter None writes the legacy form."""
    return _checked(f"{_artifact_in_tag(artifact)}#{_checked_stage(stage)}{_suffix(counter)}")


def unassign_tag(artifact: str, stage: str, counter: int | None) -> str:
    """``NAME#STAGE!#N``: unassigns *stage* (``gto unassign``)."""
    return _checked(f"{_artifact_in_tag(artifact)}#{_checked_stage(stage)}!{_suffix(counter)}")


def deprecate_tag(artifact: str, counter: int | None = None) -> str:
    """``NAME@deprecated`` (``#N`` when a counter is given): deprecates the artifact."""
    return _checked(f"{_artifact_in_tag(artifact)}@deprecated{_suffix(counter)}")


def next_counter(tag_names: Iterable[str], artifact: str) -> int:
    """The counter GTO gives the artifact's next tag: one more than the highest any tag carries.

    Like GTO, every tag name counts, annotated or not, so the new name never collides.
    """
    counters = [
        parsed.counter
        for parsed in map(try_parse_tag, tag_names)
        if parsed is not None and parsed.artifact == artifact and parsed.counter is not None
    ]
    return max(counters, default=0) + 1


def _artifact_in_tag(artifact: str) -> str:
    if _ARTIFACT_RE.fullmatch(artifact) is None:
        raise InputError(f"Model name {artifact!r} cannot be a registry tag: use {NAME_FORM}.")
    return artifact.replace(":", "=")


def _checked_version(version: str) -> str:
    if not is_version(version):
        raise InputError(f"Version {version!r} is not a registry version: expected {VERSION_FORM}.")
    return version


def _checked_stage(stage: str) -> str:
    if _STAGE_RE.fullmatch(stage) is None:
        raise InputError(f"Stage {stage!r} cannot be a registry tag: use {STAGE_FORM}.")
    return stage


def _suffix(counter: int | None) -> str:
    if counter is None:
        return ""
    if counter < 1:
        raise InputError(f"A registry tag's counter starts at 1, not {counter}.")
    return f"#{counter}"


def _checked(tag: str) -> str:
    """*tag*, once it is sure to be a name git accepts (GTO's grammar allows a few it refuses)."""
    parts = tag.split("/")
    if (
        ".." in tag
        or tag.endswith(".")
        or any(not part or part.startswith(".") or part.endswith(".lock") for part in parts)
    ):
        raise InputError(
            f"{tag!r} is in GTO's grammar but git refuses it as a tag name (no empty "
            "'/' part, none starting with '.' or ending with '.lock', no '..'); "
            "choose another model or stage name."
        )
    return tag
