"""The model registry that a repository's git tags hold, read the way DVC's GTO reads it.

One git call lists the tags (:func:`read_registry`); the rest is pure (:func:`build_registry`).
The rules are GTO's (``gto/base.py``, as ``gto show`` applies them); ``docs/registry.md`` gives
them in full:

- only annotated tags count, ordered by their tagger date (within one second by counter);
- a version is registered while its latest ``@v..``/``@v..!`` tag on its commit registers it;
- a stage is held by the version assigned to it last and not unassigned since (so assigning
  an older version is a rollback), one version per stage;
- an artifact whose latest event is ``@deprecated`` lists no versions and no stages;
- the latest version is the highest registered SemVer, pre-releases included.

Bare ``vX.Y.Z`` tags are not GTO's: they are read as the versions of the repository's only
model (:attr:`Registry.plain`), flagged as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from mlops_ci.proc import git
from mlops_ci.registry_tags import (
    Action,
    RegistryTag,
    is_prerelease,
    is_version,
    next_counter,
    try_parse_tag,
    version_key,
)

_FIELDS = (
    "refname",
    "objecttype",
    "*objecttype",
    "*objectname",
    "taggerdate:unix",
    "taggername",
    "*committerdate:unix",
    "contents",
    "contents:signature",  # a signed tag's message ends with it: kept out of the message
)


@dataclass(frozen=True)
class TagRef:
    """One annotated tag on a commit, as git lists it."""

    name: str
    commit: str
    created: datetime  # the tagger date: GTO orders events by it
    tagger: str = ""
    message: str = ""
    committed: datetime | None = None  # the tagged commit's date, which GTO counts too


@dataclass(frozen=True)
class Version:
    """A version of an artifact.

    *name* is the SemVer (``v1.2.0``); for a commit that was assigned a stage without ever
    being registered it is the commit's SHA and *registered* is false, as in ``gto show``.
    """

    artifact: str
    name: str
    commit: str
    registered: bool
    tag: str | None = None  # the tag that registered it
    created: datetime | None = None
    message: str = ""

    @property
    def prerelease(self) -> bool:
        return self.registered and is_prerelease(self.name)


@dataclass(frozen=True)
class Assignment:
    """A stage held by a version, since the tag that assigned it last."""

    stage: str
    version: Version
    tag: str
    assigned: datetime
    message: str = ""


@dataclass(frozen=True)
class Artifact:
    """One model (or other artifact) of the registry, in the state its tags leave it."""

    name: str  # "" for the bare-tag versions of the repository's only model
    deprecated: bool = False
    plain: bool = False  # read from bare vX.Y.Z tags, which GTO does not read
    registered: tuple[Version, ...] = ()  # registered and not deregistered, highest first
    held: Mapping[str, tuple[Assignment, ...]] = field(default_factory=dict)  # latest first
    counter: int = 1  # the counter GTO gives this artifact's next tag
    withdrawn: frozenset[str] = frozenset()  # versions whose latest event deregisters them

    @property
    def versions(self) -> tuple[Version, ...]:
        """The registered versions, highest first; none once the artifact is deprecated."""
        return () if self.deprecated else self.registered

    @property
    def latest_version(self) -> Version | None:
        return self.versions[0] if self.versions else None

    @property
    def stages(self) -> dict[str, Version]:
        """Each stage in use and the one version in it (``gto show``'s default)."""
        return {stage: found for stage in self.held if (found := self.stage_version(stage))}

    def stage_versions(self, stage: str) -> tuple[Version, ...]:
        """Every version in *stage*, most recently assigned first (``gto show --vs -1``)."""
        return () if self.deprecated else tuple(a.version for a in self.held.get(stage, ()))

    def stage_version(self, stage: str) -> Version | None:
        """The version now in *stage*: the one assigned to it last and not unassigned since."""
        found = self.stage_versions(stage)
        return found[0] if found else None

    def version(self, name: str) -> Version | None:
        return next((v for v in self.versions if v.name == name), None)

    def versions_at(self, commit: str) -> tuple[Version, ...]:
        """The registered versions whose tag is on *commit* (a full SHA), highest first."""
        return tuple(v for v in self.versions if v.commit == commit)

    def stages_at(self, commit: str) -> tuple[str, ...]:
        """The stages whose current version is on *commit*, sorted by name."""
        return tuple(sorted(s for s, v in self.stages.items() if v.commit == commit))

    def previous_version(self, version: str) -> Version | None:
        """The highest registered version below *version* (the previous release), if any."""
        key = version_key(version)
        return next((v for v in self.versions if version_key(v.name) < key), None)


@dataclass(frozen=True)
class Registry:
    artifacts: Mapping[str, Artifact]  # GTO's artifacts by name, deprecated ones included
    plain: Artifact | None = None  # bare vX.Y.Z tags: the versions of the repository's only model
    tag_names: tuple[str, ...] = ()  # every tag, annotated or not (counters, collisions)

    def artifact(self, name: str) -> Artifact | None:
        return self.artifacts.get(name)

    def for_model(self, name: str | None) -> Artifact | None:
        """The artifact named *name*, else the bare-tag versions when the repository has them."""
        found = self.artifacts.get(name) if name else None
        return found or self.plain

    def next_counter(self, name: str) -> int:
        return next_counter(self.tag_names, name)

    def versions_at(self, commit: str) -> dict[str, tuple[Version, ...]]:
        """For each artifact with a version on *commit*, those versions."""
        found = {name: a.versions_at(commit) for name, a in self._all()}
        return {name: versions for name, versions in found.items() if versions}

    def stages_at(self, commit: str) -> dict[str, tuple[str, ...]]:
        """For each artifact whose current version of some stage is on *commit*, those stages."""
        found = {name: a.stages_at(commit) for name, a in self._all()}
        return {name: stages for name, stages in found.items() if stages}

    def show(self) -> dict[str, dict[str, object]]:
        """The registry as ``gto show --json`` prints it.

        Each artifact that is not deprecated, with its latest version and the version in every
        stage that any artifact uses (None where it has none). Bare tags are not GTO's: left out.
        """
        stages = sorted({stage for artifact in self.artifacts.values() for stage in artifact.held})
        return {
            name: {
                "version": _name(artifact.latest_version),
                "stage": {stage: _name(artifact.stage_version(stage)) for stage in stages},
                "registered": True,
                "active": True,
            }
            for name, artifact in self.artifacts.items()
            if not artifact.deprecated
        }

    def _all(self) -> list[tuple[str, Artifact]]:
        plain = [(self.plain.name, self.plain)] if self.plain else []
        return [*self.artifacts.items(), *plain]


def tagged_versions(artifact: Artifact | None, plain: Artifact | None, *,
                    withdrawn: set[str]) -> dict[str, Version]:
    """Every tagged version of a model by name: GTO's, then the bare tags; *withdrawn* ones
    left out, none when the model is deprecated."""
    if artifact is not None and artifact.deprecated:
        return {}
    found: dict[str, Version] = {}
    for source in (artifact, plain):
        for version in source.versions if source is not None else ():
            if version.name not in withdrawn:
                found.setdefault(version.name, version)
    return found


def _name(version: Version | None) -> str | None:
    return version.name if version else None


def read_registry(root: Path) -> Registry:
    """The registry that the git tags of the repository at *root* hold (one git call)."""
    fmt = "%00".join(f"%({name})" for name in _FIELDS) + "%00"
    out = git("for-each-ref", f"--format={fmt}", "refs/tags/", cwd=root)
    return build_registry(*_parse_refs(out))


def _parse_refs(out: str) -> tuple[list[TagRef], list[str]]:
    """Annotated tags on commits, and every tag's name, from `git for-each-ref`'s records."""
    values = out.split("\0")
    size = len(_FIELDS)
    annotated: list[TagRef] = []
    names: list[str] = []
    for start in range(0, len(values) - size + 1, size):
        refname, kind, target_kind, target, date, tagger, committed, contents, signature = values[
            start : start + size
        ]
        name = refname.lstrip("\n").removeprefix("refs/tags/")
        names.append(name)
        # A lightweight tag is a bare commit, and GTO ignores it; so is a tag of a tag or a tree.
        if kind != "tag" or target_kind != "commit" or not date.isdigit():
            continue
        annotated.append(
            TagRef(name, target, _utc(date), tagger, _message(contents, signature), _utc(committed))
        )
    return annotated, names


def _message(contents: str, signature: str) -> str:
    return contents.removesuffix(signature).strip() if signature else contents.strip()


def _utc(unix: str) -> datetime:
    return datetime.fromtimestamp(int(unix or 0), tz=timezone.utc)


def build_registry(tags: Iterable[TagRef], tag_names: Iterable[str] = ()) -> Registry:
    """The registry that these annotated tags describe (pure: the rules of GTO's reader)."""
    names = tuple(tag_names)
    by_artifact: dict[str, list[_Event]] = {}
    plain: list[Version] = []
    for ref in tags:
        if is_version(ref.name):
            plain.append(_registered("", ref.name, ref))
            continue
        parsed = try_parse_tag(ref.name)
        if parsed is not None and parsed.action is not Action.CREATE:
            by_artifact.setdefault(parsed.artifact, []).append(_Event(parsed, ref))
    artifacts = {
        name: _build_artifact(name, sorted(events, key=_Event.order), next_counter(names, name))
        for name, events in sorted(by_artifact.items())
    }
    bare = Artifact("", plain=True, registered=_by_version(plain)) if plain else None
    return Registry(artifacts=artifacts, plain=bare, tag_names=names)


@dataclass(frozen=True)
class _Event:
    tag: RegistryTag
    ref: TagRef

    def order(self) -> tuple[datetime, int, str]:
        # GTO sorts by the tagger date alone, to the second; within a second the higher
        # counter was written later, which is what GTO's list order gives in practice.
        return (self.ref.created, self.tag.counter or 0, self.ref.name)


_VersionKey = tuple[str, str]  # (version name, commit): GTO tells versions apart by both


def _build_artifact(name: str, events: list[_Event], counter: int) -> Artifact:
    """Replay one artifact's events (sorted) as GTO does: versions first, then stages."""
    history: dict[_VersionKey, list[_Event]] = {}
    for event in events:
        if event.tag.action in (Action.REGISTER, Action.DEREGISTER):
            assert event.tag.version is not None
            history.setdefault((event.tag.version, event.ref.commit), []).append(event)
    active = {
        key: _registered(name, key[0], changes[-1].ref)
        for key, changes in history.items()
        if changes[-1].tag.action is Action.REGISTER
    }
    # Each (version, stage) is held while its latest event assigns it.
    latest: dict[tuple[_VersionKey, str], _Event] = {}
    for event in events:
        if event.tag.action in (Action.ASSIGN, Action.UNASSIGN):
            assert event.tag.stage is not None
            latest[(_version_at(event.ref.commit, history), event.tag.stage)] = event
    held: dict[str, list[tuple[_Event, Version]]] = {}
    for (key, stage), event in latest.items():
        if event.tag.action is not Action.ASSIGN:
            continue
        if key in active:
            version = active[key]
        elif key not in history:  # a commit assigned a stage but never registered
            version = Version(name, key[1], key[1], registered=False)
        else:  # deregistered: its stages go with it
            continue
        held.setdefault(stage, []).append((event, version))
    return Artifact(
        name=name,
        deprecated=_deprecated(events),
        registered=_by_version(list(active.values())),
        held={
            stage: tuple(
                Assignment(stage, version, event.ref.name, event.ref.created, event.ref.message)
                for event, version in sorted(pairs, key=lambda p: p[0].order(), reverse=True)
            )
            for stage, pairs in sorted(held.items())
        },
        counter=counter,
        withdrawn=frozenset(
            key[0] for key, changes in history.items()
            if changes[-1].tag.action is Action.DEREGISTER
            and not any(k[0] == key[0] for k in active)
        ),
    )


def _deprecated(events: list[_Event]) -> bool:
    """True when a deprecation is later than every other event of the artifact.

    As in GTO: a tie goes to the other event, and the date of each version's commit counts
    as an event too (so a commit dated after the deprecation revives the artifact).
    """
    deprecations = [e.ref.created for e in events if e.tag.action is Action.DEPRECATE]
    others = [e.ref for e in events if e.tag.action is not Action.DEPRECATE]
    dates = [ref.created for ref in others] + [ref.committed for ref in others if ref.committed]
    return bool(deprecations) and all(max(deprecations) > date for date in dates)


def _registered(artifact: str, version: str, ref: TagRef) -> Version:
    """The version that the annotated tag *ref* registers."""
    return Version(
        artifact,
        version,
        ref.commit,
        registered=True,
        tag=ref.name,
        created=ref.created,
        message=ref.message,
    )


def _version_at(commit: str, history: Mapping[_VersionKey, list[_Event]]) -> _VersionKey:
    """The version a stage tag on *commit* belongs to: GTO looks it up by commit.

    GTO refuses a commit that carries two versions; here the registered, highest one wins.
    A commit without a version tag stands for itself (its SHA is the version's name).
    """
    candidates = [key for key in history if key[1] == commit]
    if not candidates:
        return (commit, commit)

    def rank(key: _VersionKey) -> tuple[bool, tuple[object, ...]]:
        return (history[key][-1].tag.action is Action.REGISTER, version_key(key[0]))

    return max(candidates, key=rank)


def _by_version(versions: list[Version]) -> tuple[Version, ...]:
    """Highest SemVer first; equal precedence (build metadata differs) newest first."""
    newest_first = sorted(versions, key=lambda v: v.created.timestamp() if v.created else 0.0)
    newest_first.reverse()
    return tuple(sorted(newest_first, key=lambda v: version_key(v.name), reverse=True))
