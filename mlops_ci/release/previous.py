"""Which versions of a model were released: the previous release and the notes' history.

A version tag alone proves nothing: a release that was refused (a failed gate, too few
approvals) leaves its tag behind, and judging the next one against it would let relative gates
(``max_drop``) be ratcheted down one refused tag at a time. So a version counts as released
only when:

- with a GitHub client (on Actions, a dry run there too): a published, non-draft GitHub
  Release exists for its tag, bare ``vX.Y.Z`` or ``NAME@vX.Y.Z``;
- without one (a local ``--dry-run``): the registry tag ``NAME@vX.Y.Z`` that mlops-ci writes
  after publishing is there, with its message ``mlops-ci release NAME vX.Y.Z: pass``.

Either way a version the registry withdrew (``gto deregister``: the GTO tag ``NAME@vX.Y.Z!``)
or a model it deprecated does not count, its bare tag included. docs/releases.md says the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.registry import Artifact, Version, read_registry, tagged_versions
from mlops_ci.registry_tags import is_prerelease, is_version, version_key
from mlops_ci.revisions import BaseChoice, default_base

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient
    from mlops_ci.release.tagging import ReleaseRequest

SHOWN = 5  # skipped versions named in the explanation


@dataclass(frozen=True)
class Released:
    """The released versions of one model below the one being released, highest first."""

    versions: tuple[Version, ...]
    source: str  # how "released" was decided, in words
    skipped: tuple[str, ...] = ()  # tagged versions below this one that do not count


@dataclass(frozen=True)
class ReleaseBase:
    choice: BaseChoice
    previous: Version | None  # the previous release of the model, when there is one
    reason: str = ""  # why this base, one sentence for the log


def published_tags(releases: Iterable[Mapping[str, Any]]) -> set[str]:
    """The tags of the published (non-draft) releases in a list of GitHub's releases."""
    return {str(r.get("tag_name")) for r in releases
            if isinstance(r, Mapping) and not r.get("draft") and r.get("tag_name")}


def model_versions(tags: Iterable[str], artifact: str, *, single: bool) -> dict[str, str]:
    """Version → tag, of the tags that are versions of *artifact* (bare ones if *single*)."""
    found: dict[str, str] = {}
    for tag in tags:
        name, _, version = tag.rpartition("@")
        if (name == artifact or (single and not name)) and is_version(version):
            found.setdefault(version, tag)
    return found


def is_latest(version: str, published: Iterable[str], artifact: str, *, single: bool) -> bool:
    """Whether *version* is the highest non-prerelease among *published* (tags) of the model:
    the release GitHub should show as Latest (a backport of an older line is not)."""
    if is_prerelease(version):
        return False
    others = [v for v in model_versions(published, artifact, single=single)
              if not is_prerelease(v)]
    return all(version_key(version) >= version_key(other) for other in others)


def released_versions(
    root: Path, request: ReleaseRequest, *, client: GitHubClient | None, repo: str | None,
) -> Released:
    """The versions of *request*'s model below its version that were released (module doc)."""
    registry = read_registry(root)
    artifact = registry.artifact(request.artifact)
    plain = registry.plain if request.single else None
    key = version_key(request.version)
    tagged = tagged_versions(artifact, plain, withdrawn=_withdrawn(artifact))
    below = {name: v for name, v in tagged.items() if version_key(name) < key}
    if client is not None and repo is not None:
        from mlops_ci.github.releases import list_releases

        published = model_versions(published_tags(list_releases(client, repo)),
                                   request.artifact, single=request.single)
        kept = {name: _on_tag(name, published[name], tagged, artifact, plain)
                for name in below if name in published}
        source = "a published GitHub Release for its tag"
    else:
        kept = {name: v for name, v in below.items() if _written_by_release(artifact, name)}
        source = (f"the registry tag {request.artifact}@vX.Y.Z that a "
                  "published release writes (offline, the GitHub Releases are not read)")
    versions = tuple(sorted((v for v in kept.values() if v is not None),
                            key=lambda v: version_key(v.name), reverse=True))
    skipped = tuple(sorted((n for n in below if n not in kept), key=version_key, reverse=True))
    return Released(versions, source, skipped)


def release_base(
    root: Path, request: ReleaseRequest, env: Mapping[str, str], released: Released,
) -> ReleaseBase:
    """The previous release of the same model, else the base branch as `run` picks it."""
    skipped = ""
    if released.skipped:
        shown = ", ".join(released.skipped[:SHOWN])
        more = f" and {len(released.skipped) - SHOWN} more" if len(released.skipped) > SHOWN else ""
        skipped = f"; not released, so not counted: {shown}{more}"
    if released.versions:
        best = released.versions[0]
        return ReleaseBase(
            BaseChoice(rev=best.commit, ref=best.tag or best.name,
                       description=f"previous release {best.name}"),
            best,
            f"{best.name} is the highest version below {request.version} with "
            f"{released.source}{skipped}",
        )
    return ReleaseBase(
        default_base(root, env), None,
        f"no version below {request.version} has {released.source}{skipped}",
    )


def _withdrawn(artifact: Artifact | None) -> set[str]:
    return set(artifact.withdrawn) if artifact is not None else set()


def _on_tag(name: str, tag: str, tagged: Mapping[str, Version], artifact: Artifact | None,
            plain: Artifact | None) -> Version | None:
    """The version *name* as the tag of its GitHub Release has it (the bare or the GTO one)."""
    for source in (plain if "@" not in tag else artifact, artifact, plain):
        found = source.version(name) if source is not None else None
        if found is not None and found.name in tagged:
            return found
    return tagged.get(name)


def _written_by_release(artifact: Artifact | None, name: str) -> bool:
    """The GTO tag of version *name* is the one a published release of mlops-ci wrote."""
    found = artifact.version(name) if artifact is not None else None
    if found is None:
        return False
    assert artifact is not None
    return found.message.startswith(f"mlops-ci release {artifact.name} {name}: pass")
