"""Which release `mlops-ci fetch` means: a tag, a version, a stage, or the latest version.

Pure, on top of the registry (``registry.py``) that the git tags hold, read from the local
repository or through the GitHub API (``github/tags.py``) — the same rules either way:

- a TAG (``v1.3.0``, ``churn@v1.3.0``) names one release;
- NAME with ``version`` names that version of the artifact;
- NAME with ``stage`` names the version now in that stage (``Artifact.stage_version``: the
  version assigned most recently and not unassigned since, so a rollback, which assigns an
  older version, is honoured; a deprecated artifact has no stage);
- NAME alone names the latest registered version (the highest SemVer).

Every refusal is an InputError that names what the registry has instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_ci.errors import InputError
from mlops_ci.registry import Artifact, Registry, Version
from mlops_ci.registry_tags import Action, is_version, parse_release_tag, try_parse_tag

MAX_LISTED = 10  # names shown in a refusal; the count of the rest follows


@dataclass(frozen=True)
class Resolved:
    """One release: the version, its tag(s) and commit, and the stage it was reached through."""

    artifact: str  # "" for a repository's single model tagged with bare vX.Y.Z
    version: str
    commit: str
    tags: tuple[str, ...]  # the release's tags on that commit, the one to try first first
    stage: str | None = None  # the stage asked for, when fetched by stage
    stages: tuple[str, ...] = ()  # every stage whose current version this is

    @property
    def tag(self) -> str:
        return self.tags[0]

    @property
    def label(self) -> str:
        """``churn v1.3.0``, or ``v1.3.0`` for a single model's bare tag."""
        return f"{self.artifact} {self.version}" if self.artifact else self.version


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    return f"{shown} and {more} more" if more > 0 else shown


def _versions_text(artifact: Artifact) -> str:
    names = [v.name for v in artifact.versions]
    return f"its versions: {_listed(names)}" if names else "it has no registered version"


def _stages_text(artifact: Artifact) -> str:
    stages = [f"{stage} ({version.name})" for stage, version in sorted(artifact.stages.items())]
    return f"its stages: {_listed(stages)}" if stages else "no version of it is in any stage"


def _artifacts_text(registry: Registry) -> str:
    names = sorted(name for name, a in registry.artifacts.items() if not a.deprecated)
    if registry.plain is not None and registry.plain.versions:
        bare = _listed([v.name for v in registry.plain.versions])
        names.append(f"the bare vX.Y.Z tags ({bare})")
    return f"it has: {_listed(names)}" if names else "it holds no release tags"


def _find_artifact(registry: Registry, name: str, where: str) -> Artifact:
    found = registry.artifact(name)
    if found is None and registry.plain is not None and not registry.artifacts:
        found = registry.plain  # a single model tagged vX.Y.Z: any name means it
    if found is None:
        raise InputError(
            f"The model registry of {where} has no model named {name!r}; "
            f"{_artifacts_text(registry)}. Name a model (as in `mlops-ci registry`) or a "
            "release tag such as churn@v1.3.0."
        )
    if found.deprecated:
        raise InputError(
            f"The model {name!r} is deprecated in the registry of {where} (a "
            f"{name}@deprecated tag is its latest event), so it has no version to fetch; "
            "name a release tag to fetch an old release anyway."
        )
    return found


def _tags_for(registry: Registry, version: Version) -> tuple[str, ...]:
    """The tags that release *version*: its own first, then its twin in a single-model
    repository, where the user's bare ``vX.Y.Z`` and the ``NAME@vX.Y.Z`` that `mlops-ci
    release` writes beside it are on the same commit and the GitHub release is under one of
    them. Another model's tag is never a twin, even on the same commit."""
    tags = [version.tag] if version.tag else []
    twins: list[Version | None]
    if version.artifact:  # NAME@vX.Y.Z: the bare tag of the same version and commit
        twins = [registry.plain.version(version.name)] if registry.plain else []
    else:  # a bare vX.Y.Z: the one model's tag of it, when exactly one model has one there
        found = [a.version(version.name) for a in registry.artifacts.values()]
        there = [v for v in found if v is not None and v.commit == version.commit]
        twins = list(there) if len(there) == 1 else []
    for twin in twins:
        if twin is not None and twin.commit == version.commit and twin.tag:
            tags.append(twin.tag)
    return tuple(dict.fromkeys(tags))


def _resolved(
    registry: Registry, artifact: Artifact, version: Version, stage: str | None = None
) -> Resolved:
    stages = tuple(sorted(s for s, v in artifact.stages.items() if v == version))
    return Resolved(
        artifact=artifact.name,
        version=version.name,
        commit=version.commit,
        tags=_tags_for(registry, version),
        stage=stage,
        stages=stages,
    )


def _by_tag(registry: Registry, tag: str, where: str) -> Resolved:
    release = parse_release_tag(tag)
    artifact = registry.plain if release.artifact is None else registry.artifact(release.artifact)
    version = None
    if artifact is not None:
        version = next((v for v in artifact.registered if v.name == release.version), None)
    if artifact is None or version is None:
        known = _versions_text(artifact) if artifact is not None else _artifacts_text(registry)
        raise InputError(
            f"The tag {tag!r} is not a registered release in {where}; {known}. Check the name "
            "(`git tag -l`), and that the tags were fetched (`git fetch --tags`)."
        )
    return _resolved(registry, artifact, version)


def resolve(
    registry: Registry,
    target: str,
    *,
    version: str | None = None,
    stage: str | None = None,
    where: str = "this repository",
) -> Resolved:
    """The release that *target* (a NAME or a TAG) with *version* or *stage* names.

    *where* names the registry's source in messages (the repository, or OWNER/NAME).
    """
    if version is not None and stage is not None:
        raise InputError("Give --version or --stage, not both.")
    if not target:
        raise InputError("Name a model or a release tag to fetch, e.g. churn or churn@v1.3.0.")
    is_tag = is_version(target) or _is_release_tag(target)
    if is_tag:
        if version is not None or stage is not None:
            flag = "--version" if version is not None else "--stage"
            raise InputError(
                f"{target!r} is a release tag, which names one release already; drop {flag}, "
                f"or name the model instead (e.g. `mlops-ci fetch NAME {flag} ...`)."
            )
        return _by_tag(registry, target, where)
    if "@" in target or "#" in target:
        parse_release_tag(target)  # refuses, naming the forms
    artifact = _find_artifact(registry, target, where)
    shown = artifact.name or target
    if version is not None:
        if not is_version(version):
            raise InputError(
                f"--version {version!r} is not a version: expected vX.Y.Z (v1.3.0, v1.3.0-rc.1)."
            )
        found = artifact.version(version)
        if found is None:
            raise InputError(
                f"The model {shown!r} has no registered version {version} in {where}; "
                f"{_versions_text(artifact)}."
            )
        return _resolved(registry, artifact, found)
    if stage is not None:
        if artifact.plain:
            raise InputError(
                f"The releases in {where} are bare vX.Y.Z tags, which have no stages; fetch a "
                "version with --version, or name the model in its tags (churn@v1.3.0, "
                "churn#prod#1) to use stages."
            )
        found = artifact.stage_version(stage)
        if found is None:
            raise InputError(
                f"No version of {shown!r} is in stage {stage!r} in {where}; "
                f"{_stages_text(artifact)}."
            )
        if not found.registered:
            raise InputError(
                f"Stage {stage!r} of {shown!r} is on commit {found.commit[:12]}, which no version "
                "tag registers, so it has no release to fetch; register the commit "
                f"(`git tag -a {shown}@vX.Y.Z {found.commit[:12]}`) and release it."
            )
        return _resolved(registry, artifact, found, stage)
    latest = artifact.latest_version
    if latest is None:
        raise InputError(f"The model {shown!r} has no registered version in {where}.")
    return _resolved(registry, artifact, latest)


def _is_release_tag(target: str) -> bool:
    parsed = try_parse_tag(target)
    return parsed is not None and parsed.action is Action.REGISTER
